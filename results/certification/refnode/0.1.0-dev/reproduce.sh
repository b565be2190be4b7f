#!/bin/sh
# Repeats this certification: sskit b403681 at commit b403681570473ea3fffc8862bd84a1358698ed9c, spec version 0.
set -e
git checkout b403681570473ea3fffc8862bd84a1358698ed9c
make build
bin/sskit certify --backend process --runs 3 --seed 518798 
