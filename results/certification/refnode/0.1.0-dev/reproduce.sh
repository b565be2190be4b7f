#!/bin/sh
# Repeats this certification: sskit b6c5528-dirty at commit b6c5528571b59df8723a575d6060961c65e5ec83, spec version 0.
set -e
git checkout b6c5528571b59df8723a575d6060961c65e5ec83
make build
bin/sskit certify --backend process --runs 3 --seed 612742 
