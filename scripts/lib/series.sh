# The series as patches: helpers of scripts/prepare, scripts/export-series,
# scripts/range-diff and scripts/check-series. Sourced after lib.sh.
# shellcheck shell=bash

PATCHES=$TOP/patches              # git format-patch output, 0000 = cover letter
SUBJECT_PREFIX="RFC PATCH v2"
BRANCH=series                     # the branch of build/linux the series lives on
LAID=$BUILD/laid.commit           # the commit patches/ gave when last applied
                                  # or exported; $LAID.cover its cover text

# git with no user or system configuration: what the series' files look like
# must not depend on format.*, diff.noprefix, apply.whitespace or
# mailinfo.scissors of whoever runs the scripts.
sgit() { GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1 git -C "$TREE" "$@"; }

# tree_ready: build/linux exists and has its pristine tag (packed or not).
tree_ready() { [ -d "$TREE/.git" ] && git -C "$TREE" rev-parse -q --verify refs/tags/pristine >/dev/null; }

# series_files DIR: the patches of DIR in the order they apply (the cover
# letter, 0000-*, is not one).
series_files() {
	local f
	for f in "$1"/[0-9][0-9][0-9][0-9]-*.patch; do
		[ -e "$f" ] || continue
		case ${f##*/} in 0000-*) ;; *) echo "$f" ;; esac
	done
}

# series_commit DIR: commit the patches of DIR one by one on top of the
# pristine tree, as 'git am' would, but in the object store only (a private
# index; build/linux's work tree and index are not touched). Prints the last
# commit. Committer and dates come from the patches, so the same patches
# always give the same commits.
series_commit() (
	set -e                  # a command substitution does not inherit it
	dir=$1 n=0
	tmp=$(mktemp -d "$BUILD/series-apply.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	export GIT_INDEX_FILE=$tmp/index
	c=$(git -C "$TREE" rev-parse 'pristine^{commit}')
	sgit read-tree pristine
	for p in $(series_files "$dir"); do
		n=$((n + 1))
		sgit mailinfo "$tmp/msg" "$tmp/diff" <"$p" >"$tmp/info" ||
			die "${p#"$TOP"/}: not a patch git mailinfo can read"
		if ! sgit apply --cached "$tmp/diff" 2>"$tmp/err"; then
			cat "$tmp/err" >&2
			die "${p#"$TOP"/} does not apply on top of the patches before it"
		fi
		tree=$(sgit write-tree)
		{ sed -n 's/^Subject: //p' "$tmp/info"
		  if [ -s "$tmp/msg" ]; then echo; cat "$tmp/msg"; fi; } >"$tmp/commit"
		GIT_AUTHOR_NAME=$(sed -n 's/^Author: //p' "$tmp/info")
		GIT_AUTHOR_EMAIL=$(sed -n 's/^Email: //p' "$tmp/info")
		GIT_AUTHOR_DATE=$(sed -n 's/^Date: //p' "$tmp/info")
		export GIT_AUTHOR_NAME GIT_AUTHOR_EMAIL GIT_AUTHOR_DATE
		export GIT_COMMITTER_NAME=$GIT_AUTHOR_NAME \
			GIT_COMMITTER_EMAIL=$GIT_AUTHOR_EMAIL \
			GIT_COMMITTER_DATE=$GIT_AUTHOR_DATE
		c=$(sgit commit-tree "$tree" -p "$c" -F "$tmp/commit")
	done
	[ $n -gt 0 ] || die "no patches in ${dir#"$TOP"/}"
	echo "$c"
)

# series_author PATCH: "Name <email>" of a patch (its From: may be folded).
series_author() {
	sgit mailinfo /dev/null /dev/null <"$1" |
		sed -n 's/^Author: //p; s/^Email: \(.*\)/<\1>/p' | paste -sd' '
}

# series_cover_text COVER: the cover letter's subject (its [PATCH n/m] tag
# dropped) and text, as a branch description for 'git format-patch
# --cover-from-description=subject': everything between the headers and
# the shortlog git writes, whose first line is "Author Name (N):" for an
# author of the series.
series_cover_text() {
	local authors
	authors=$(for p in $(series_files "$(dirname "$1")"); do
		series_author "$p" | sed 's/ <.*//'; done | sort -u)
	awk -v authors="$authors" '
	BEGIN { n = split(authors, a, "\n"); for (i = 1; i <= n; i++) is[a[i]] = 1 }
	!body && /^Subject: / { sub(/^Subject: (\[[^]]*\] *)?/, ""); subj = $0; next }
	!body && /^ / && subj != "" { subj = subj $0; next }
	!body && /^$/ { body = 1; print subj; print ""; next }
	body && /^[^ ].* \([0-9]+\):$/ { name = $0; sub(/ \([0-9]+\):$/, "", name); if (name in is) exit }
	body { text = text $0 "\n" }
	END { sub(/\n+$/, "\n", text); printf "%s", text }' "$1"
}

# series_dirty: what build/linux has not committed: changed files, and new
# ones (Debian's .gitignore ignores the whole top level, so 'git status'
# does not show new files: list every untracked file but Python's caches;
# the kernel and tools are built out of tree). New files need 'git add -f'.
series_dirty() {
	git -C "$TREE" status --porcelain --untracked-files=no
	git -C "$TREE" ls-files --others | grep -vE '(^|/)__pycache__/' |
		sed 's/^/?? /' || true
}

# series_record COMMIT COVER: patches/ gave COMMIT and cover text COVER
# when last applied or exported (a ref keeps COMMIT from git gc).
series_record() {
	echo "$1" >"$LAID"
	printf '%s\n' "$2" >"$LAID.cover"
	git -C "$TREE" update-ref refs/series-laid "$1"
}

# series_busy: a rebase, am, merge, cherry-pick or bisect under way.
series_busy() {
	local g
	g=$(git -C "$TREE" rev-parse --absolute-git-dir)
	[ -e "$g/rebase-merge" ] || [ -e "$g/rebase-apply" ] || [ -e "$g/MERGE_HEAD" ] ||
		[ -e "$g/CHERRY_PICK_HEAD" ] || [ -e "$g/BISECT_LOG" ]
}

# checkpatch ARGS...: the tree's checkpatch.pl, with Debian's python3 first
# in PATH: its SPDX check runs scripts/spdxcheck.py, which needs python3-ply
# and python3-git (a python3 of another installation has neither, and
# checkpatch would then report every SPDX tag as unknown).
checkpatch() {
	(cd "$TREE" && PATH=/usr/bin:$PATH perl scripts/checkpatch.pl "$@")
}
