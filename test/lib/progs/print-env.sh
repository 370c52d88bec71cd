#!/bin/sh
# Prints the environment the wrapper gave to prog, sorted, then exits.
env | LC_ALL=C sort
