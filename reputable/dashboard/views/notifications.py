"""Notifications."""

shop_urls: list = []
public_urls: list = []
