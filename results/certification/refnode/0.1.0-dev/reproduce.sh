#!/bin/sh
# Repeats this certification: sskit d76f8e3 at commit d76f8e3b277d99d339eb0f64bb65403cf35f7176, spec version 2.
set -e
git checkout d76f8e3b277d99d339eb0f64bb65403cf35f7176
make build
bin/sskit certify --backend process --runs 3 --seed 396563 
