#!/usr/bin/env bash
# Ingestion benchmark: clips/s and decoded frames/s of `vatt run graphs/ingest.yaml` on 1 and 2 decoder
# threads, next to this machine's limit measured in the same run (gst-launch-1.0 decoding the same files
# through the same videorate/videoscale/videoconvert/audioresample chain into fakesink, one file after another
# and two at a time). Then the speech recogniser's real-time factor (asr: force on the LibriVox recordings of
# pocketsphinx-testdata, next to the same pocketsphinx chain in gst-launch-1.0), and peak resident memory of an
# ingest against the number of files (it must not grow with them).
# Usage: tools/bench_ingest.sh [BUILD_DIR] [FILES_PER_FORMAT] [SECONDS_PER_FILE]
# Run it on a quiet machine: it prints the load average it started with.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$repo/build}"
n="${2:-4}"
secs="${3:-30}"
work="$(mktemp -d /tmp/vatt-bench-ingest.XXXXXX)"
trap 'rm -rf "$work"' EXIT
frames=$((secs * 25))

echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores)"
echo "generating $n WebM (VP8+Vorbis) and $n MP4 (H.264+AAC) files of ${secs} s, 640x360 @ 25 fps ..."
mkdir -p "$work/webm" "$work/mp4"
audio="audiotestsrc num-buffers=$((secs * 44100 / 1024)) samplesperbuffer=1024 ! audio/x-raw,rate=44100,channels=2"
video="videotestsrc pattern=ball num-buffers=$frames ! video/x-raw,width=640,height=360,framerate=25/1"
for i in $(seq 1 "$n"); do
  gst-launch-1.0 -q -e webmmux name=m ! filesink location="$work/webm/v$i.webm" \
    $video ! vp8enc deadline=1 cpu-used=8 ! queue ! m. $audio ! audioconvert ! vorbisenc ! queue ! m. >/dev/null
  gst-launch-1.0 -q -e mp4mux name=m ! filesink location="$work/mp4/v$i.mp4" \
    $video ! videoconvert ! openh264enc ! h264parse ! queue ! m. \
    $audio ! audioconvert ! avenc_aac ! aacparse ! queue ! m. >/dev/null 2>&1
done

now() { date +%s.%N; }
limit_one() {  # decode one file through the same chain as video_source into fakesink
  gst-launch-1.0 -q uridecodebin uri="file://$1" name=d \
    d. ! videorate ! videoscale ! videoconvert ! \
    video/x-raw,format=RGB,width=456,height=256,pixel-aspect-ratio=1/1,framerate=10/1 ! fakesink sync=false \
    d. ! audioconvert ! audioresample ! audio/x-raw,format=F32LE,rate=48000,channels=1 ! fakesink sync=false
}
clips_per_file=$(python3 -c "print(int($secs / 3.2))")
printf "\n%-6s %-8s %12s %12s %14s %10s %12s\n" format threads "limit clip/s" "vatt clip/s" "vatt frames/s" "of limit" \
  "with start"
for fmt in webm mp4; do
  files=("$work/$fmt"/*)
  total=$((${#files[@]} * clips_per_file))
  for threads in 1 2; do
    t0=$(now)
    printf "%s\n" "${files[@]}" | xargs -P "$threads" -I{} bash -c "$(declare -f limit_one); limit_one {}"
    t1=$(now)
    rm -rf "$work/db"
    "$build/tools/vatt" run "$repo/graphs/ingest.yaml" --set src.uri="$work/$fmt" --set store.db="$work/db" \
      --set src.parallel=$threads --set src.asr=off --threads $threads --metrics "$work/m.json" >/dev/null 2>&1
    t2=$(now)
    python3 -c "
import json
m = json.load(open('$work/m.json'))
got = int(m['nodes']['store']['added'])
if got != $total: print('warning: %d clips stored, expected %d' % (got, $total))
lim = $total / ($t1 - $t0); v = $total / m['elapsed_s']; w = $total / ($t2 - $t1)
print('%-6s %-8d %12.1f %12.1f %14.0f %9.0f%% %12.1f' % ('$fmt', $threads, lim, v, v * 32, 100 * v / lim, w))"
  done
done
echo "(vatt: the run's elapsed time from its metrics; 'with start' adds process start-up, ~0.6 s of loading"
echo " LibTorch. frames/s = clips/s x 32 output frames. Limit: gst-launch-1.0, one process per file.)"

# ---- speech recognition: real-time factor ----
speech=/usr/share/pocketsphinx/test/data/librivox
if [ -d "$speech" ]; then
  mkdir -p "$work/speech"
  cp "$speech"/*.wav "$work/speech/"
  audio_s=$(python3 -c "
import glob, os
print(sum((os.path.getsize(f) - 44) / 32000 for f in glob.glob('$work/speech/*.wav')))")
  t0=$(now)
  for f in "$work/speech"/*.wav; do
    gst-launch-1.0 -q uridecodebin uri="file://$f" ! audioconvert ! audioresample ! \
      audio/x-raw,format=S16LE,rate=16000,channels=1 ! pocketsphinx ! fakesink sync=false >/dev/null 2>&1
  done
  t1=$(now)
  rm -rf "$work/db"
  "$build/tools/vatt" run "$repo/graphs/ingest.yaml" --set src.uri="$work/speech" --set store.db="$work/db" \
    --set src.parallel=1 --set src.asr=force --threads 1 --metrics "$work/m.json" >/dev/null 2>&1
  python3 -c "
import json
m = json.load(open('$work/m.json'))['nodes']['src']
lim = ($t1 - $t0) / $audio_s
print()
print('ASR (pocketsphinx, %d files, %.1f s of speech, one thread):' % (int(m['asr_sources']), m['asr_audio_seconds']))
print('  vatt (asr: force)           real-time factor %.3f (%.1f s)' % (m['asr_rtf'], m['asr_seconds']))
print('  gst-launch-1.0 same chain   real-time factor %.3f (%.1f s, one process per file)' % (lim, $t1 - $t0))"
else
  echo "(no $speech: install pocketsphinx-testdata for the ASR figures)"
fi

# ---- peak resident memory against the number of files ----
echo
printf "%-8s %14s %10s\n" files "peak RSS MiB" clips
for count in 1 2 4 8 16; do
  rm -rf "$work/many" "$work/db"
  mkdir -p "$work/many"
  for i in $(seq 1 "$count"); do ln -s "$work/webm/v1.webm" "$work/many/f$i.webm"; done
  /usr/bin/time -f "%M" -o "$work/rss" "$build/tools/vatt" run "$repo/graphs/ingest.yaml" \
    --set src.uri="$work/many" --set store.db="$work/db" --set src.parallel=2 --set src.asr=off --threads 2 \
    --metrics "$work/m.json" >/dev/null 2>&1
  rss=$(tail -1 "$work/rss")
  clips=$(python3 -c "import json; print(int(json.load(open('$work/m.json'))['nodes']['store']['added']))")
  printf "%-8s %14.0f %10s\n" "$count" "$(python3 -c "print($rss / 1024)")" "$clips"
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
