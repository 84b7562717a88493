# Empty dependencies file for pare_test_support.
# This may be replaced when dependencies are built.
