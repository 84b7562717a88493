# Empty compiler generated dependencies file for pare_core.
# This may be replaced when dependencies are built.
