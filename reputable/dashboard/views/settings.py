"""The settings section of a shop's dashboard."""

urls: list = []
