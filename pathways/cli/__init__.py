"""The ``pathways`` command (top layer): parses arguments, calls the layers below, prints one line
per user mistake. Imports neither torch nor Dash itself."""
