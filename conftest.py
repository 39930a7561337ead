pytest_plugins = ["rapport.testing.fixtures", "rapport.testing.browser", "rapport.testing.piiscan"]
