pytest_plugins = ["rapport.testing.fixtures"]
