"""Pictures and the playground: plots, animations, hidden units, layer statistics, the
live playground and its widgets.  Imports only nblib.core.
"""
