"""The embedded runtime: ``rapport run`` serves the web app and starts the in-process jobs and listeners.

It sits above every domain app: it prepares the database (demo), starts the scheduler (core), the
event resolver (events) and the mail listener (service), and nothing imports it.
"""
