#!/usr/bin/env bash
# The guide's release process, run by canaryflow against a throwaway
# repository with a bare origin: feature → release 1.2.3 → tag → back-merge
# → hotfix 1.2.4. Usage: examples/walkthrough.sh [path/to/canaryflow]
set -euo pipefail
cf=$(realpath "${1:-bin/canaryflow}")
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export GIT_AUTHOR_NAME="Walkthrough" GIT_AUTHOR_EMAIL="walk@example.invalid"
export GIT_COMMITTER_NAME="$GIT_AUTHOR_NAME" GIT_COMMITTER_EMAIL="$GIT_AUTHOR_EMAIL"
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

git init -q --bare "$work/origin.git"
git clone -q "$work/origin.git" "$work/hello" 2>/dev/null
cd "$work/hello"
step "$cf" flow init
git switch -q develop
cp "$here"/hello/{main.go,VERSION,Dockerfile} .
echo 0.0.0 > VERSION
printf 'module example.com/hello\n\ngo 1.26\n' > go.mod
git add . && git commit -q -m "chore: the hello service"
git push -q origin main develop

step "$cf" flow feature start add-login
echo "// login" >> main.go && git commit -q -am "feat: add login"
step "$cf" flow feature finish
step "$cf" version next
step "$cf" flow release start 1.2.3
step "$cf" version check
step "$cf" flow release finish --push
step "$cf" flow hotfix start
echo "// fix" >> main.go && git commit -q -am "fix: crash on empty login"
step "$cf" flow hotfix finish --push
step "$cf" flow status
step git log --oneline --graph --decorate --all
step git ls-remote "$work/origin.git"
printf '\nDone: v1.2.3 and v1.2.4 are tagged on main and pushed; develop has both.\n'
