"""Tests of the HTTP edge (routers on an app built in each test)."""
