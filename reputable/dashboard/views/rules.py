"""The rules section of a shop's dashboard."""

urls: list = []
