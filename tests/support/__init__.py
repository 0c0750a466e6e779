"""Test support: real servers and fakes shared by the test packages."""
