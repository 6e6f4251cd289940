"""Statistics: rollups of every domain's kept counts, the figures and tables of the public dashboard, the annual
report."""
