#!/bin/sh
# Prints uid, gid and supplementary groups of prog, then exits.
printf 'uid=%s gid=%s groups=%s\n' "$(id -u)" "$(id -g)" "$(id -G)"
