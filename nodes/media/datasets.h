// Dataset layouts users have (docs/ingestion.md), read as they come: captions JSON (HowTo100M, YouCook2), label CSVs
// (ESC-50 meta, AudioSet segments) and split lists (UCF101/HMDB51/Kinetics style). They attach text segments,
// labels and a split to sources, matched by file stem.
#pragma once

#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "nodes/media/clip.h"

namespace vatt::nodes {

/// A .txt/.list file of media: one path or URI per line; blank lines and `#` comments skipped, trailing
/// spaces/CR trimmed, relative paths resolved against the list's folder, URIs (containing "://") as written.
/// Used by `video_source` (its sources) and the vocabulary builder (the transcripts beside them).
std::vector<std::string> read_media_list(const std::string& path);

/// A split name as readers and filters compare it: lower case, "training" -> "train", "testing" -> "test",
/// "validation"/"validate" -> "val"; other names (train1, fold3, ...) as they are, lower case.
std::string canonical_split(const std::string& name);
/// A comma-separated list of split names, each canonical, blanks dropped.
std::set<std::string> split_names(const std::string& list);
/// Whether a folder name is a split (train/training, test/testing, val/validation/validate, any case).
bool is_split_name(const std::string& name);
/// Appends `name` to the comma-separated split list `list` unless it is there already.
void add_split(std::string& list, const std::string& name);

/// A dataset file that cannot be used: "FILE[:LINE]: what was expected".
class DatasetError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// What the dataset files say about one source.
struct SourceAnnotations {
  std::vector<TextSegment> segments;  ///< sorted by start
  std::vector<std::string> captions;  ///< untimed captions of the whole video (MSR-VTT), in file order
  std::vector<std::string> labels;
  std::string split;
};

class DatasetIndex {
 public:
  /// HowTo100M-style {"VIDEO_ID": {"start": [s...], "end": [s...], "text": [...]}, ...} or YouCook2-style
  /// {"database": {"VIDEO_ID": {"subset": "training", "annotations": [{"segment": [s, e], "sentence":
  /// ...}]}}}, or MSR-VTT-style untimed captions: the official {"videos": [{"video_id", "split"}, ...],
  /// "sentences": [{"video_id", "caption"}, ...]} or a map {"VIDEO_ID": ["caption", ...]}. Times in seconds.
  /// Throws DatasetError (malformed JSON, unequal array lengths, end before start, bad types).
  void load_captions_json(const std::string& path);
  /// ESC-50 `meta/esc50.csv` (header filename,fold,target,category,...: label = category, split = "foldN") or
  /// AudioSet segments CSV (`# ` comment lines, then YTID, start_seconds, end_seconds, "label,label"). Throws
  /// DatasetError naming the line.
  void load_labels_csv(const std::string& path);
  /// A split list: one path per line (anything after a space is ignored, as in UCF101's "a/b.avi 1"); every
  /// listed file gets split `name`, appended to what it had (comma separated: UCF101's three train/test lists
  /// put a file in e.g. "train1,test2,train3"). Throws DatasetError if unreadable.
  void load_split_list(const std::string& name, const std::string& path);

  /// The annotations of the media file at `path`, matched by its stem (for AudioSet-style names also without
  /// a trailing "_<digits>" start-time suffix). Empty when nothing is known.
  SourceAnnotations lookup(const std::string& path) const;
  bool empty() const { return by_id_.empty(); }
  /// Every label the files name, sorted (the classes of a labels CSV).
  std::set<std::string> labels() const;

 private:
  std::map<std::string, SourceAnnotations> by_id_;
};

}  // namespace vatt::nodes
