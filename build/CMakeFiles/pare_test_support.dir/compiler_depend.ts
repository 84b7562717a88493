# CMAKE generated file: DO NOT EDIT!
# Timestamp file for compiler generated dependencies management for pare_test_support.
