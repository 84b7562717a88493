# Empty dependencies file for pare_lib.
# This may be replaced when dependencies are built.
