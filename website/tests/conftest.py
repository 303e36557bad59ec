def pytest_addoption(parser):
    parser.addoption("--site", default=None, help="the built site (default: build/site)")
