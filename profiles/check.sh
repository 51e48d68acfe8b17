#!/usr/bin/env bash
# CI gate: recompile the FSH sources into a temporary folder and fail if the committed
# profiles/fsh-generated/ differs, or if SUSHI reports an error or an unexplained warning.
exec bash "$(dirname "${BASH_SOURCE[0]}")/build.sh" --check
