"""The team section."""

urls: list = []
public_urls: list = []
