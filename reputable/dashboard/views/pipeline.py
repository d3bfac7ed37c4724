"""The pipeline section of a shop's dashboard."""

urls: list = []
