# Empty compiler generated dependencies file for pare.
# This may be replaced when dependencies are built.
