#!/bin/sh
# make check: the dependency rule. The infrastructure (app/core, app/store,
# app/cache, app/jobs) includes only infrastructure headers; domains plug
# in through the module table (app/modules.c), never the other way round.
# Prints every offending include and fails if there is one.
top="${TOP_SRCDIR:-.}"
cd "$top" || exit 2
bad2=$(grep -Hn '#include "' app/core/*.[ch] app/store/*.[ch] app/cache/*.[ch] app/jobs/*.[ch] |
       sed -n 's/.*#include "\([^"]*\)".*/&|\1/p' | while IFS='|' read -r line inc; do
           file=${line%%:*}
           dir=$(dirname "$file")
           case "$inc" in
               ../core/* | ../store/* | ../cache/* | ../jobs/*) ;;
               ../*) echo "$line" ;;
               */*) echo "$line" ;;
               *) [ -f "$dir/$inc" ] || echo "$line" ;;
           esac
       done)
if [ -n "$bad2" ]; then
    echo "layering: infrastructure includes a domain header:"
    printf '%s\n' "$bad2"
    exit 1
fi
echo "layering: app/core, app/store, app/cache, app/jobs include no domain header"
