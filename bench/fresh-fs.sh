#!/usr/bin/env bash
# bench/fresh-fs.sh DIR [SIZE]: mounts a new, empty ext4 (a loop file
# DIR.img of SIZE, default 16G, mounted data=ordered) on DIR, for benchmarks
# that must not run in the minutes after mass deletions: ext4's inode
# allocator skips inodes freed in the last 60 to 300 s (recently_deleted()),
# and after a few hundred thousand deletions a copy of 20,000 small files
# spends seconds of kernel CPU looking for free ones (measured here: 2.3 s
# instead of 0.7 s, 4 s of CPU instead of 1). `bench/fresh-fs.sh -u DIR`
# unmounts it and removes the loop file. Needs root.
#
# The loop device does direct I/O to its file (losetup --direct-io): a
# buffered one copies every block once more, into the backing file's page
# cache, on kernel workers that compete with the copy for the CPU as no disk
# does (and hold a core for milliseconds at a stretch).
set -euo pipefail
if [ "${1:-}" = -u ]; then
    dir=$(realpath "${2:?usage: fresh-fs.sh -u DIR}")
    dev=$(findmnt -n -o SOURCE --target "$dir")
    umount "$dir"
    case "$dev" in /dev/loop*) losetup -d "$dev" 2>/dev/null || true ;; esac
    rm -f "$dir.img"
    exit 0
fi
dir=$(realpath -m "${1:?usage: fresh-fs.sh DIR [SIZE]}")
size=${2:-16G}
mkdir -p "$dir"
if mountpoint -q "$dir"; then
    echo "fresh-fs.sh: $dir is mounted already" >&2
    exit 1
fi
rm -f "$dir.img"
truncate -s "$size" "$dir.img"
mkfs.ext4 -q -F -N 3000000 "$dir.img"
dev=$(losetup --find --show --direct-io=on "$dir.img")
if ! mount -o data=ordered "$dev" "$dir"; then
    losetup -d "$dev"
    exit 1
fi
echo "$dir: a new ext4 of $size on $dir.img ($dev, direct I/O)"
