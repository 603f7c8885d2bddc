// Dataset layouts (docs/ingestion.md): HowTo100M and YouCook2 captions JSON, ESC-50 and AudioSet label
// CSVs, UCF101-style split lists; malformed files fail with the file (and line) named.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "nodes/media/datasets.h"
#include "nodes/media/source_list.h"

namespace vatt::nodes {
namespace {

/// Writes a dataset file into a per-process folder that is removed when the test program ends.
std::string write(const std::string& name, const std::string& text) {
  struct Dir {
    std::filesystem::path p =
        std::filesystem::temp_directory_path() / ("vatt-ds-" + std::to_string(getpid()));
    Dir() { std::filesystem::create_directories(p); }
    ~Dir() { std::filesystem::remove_all(p); }
  };
  static Dir dir;
  const auto p = dir.p / name;
  std::ofstream(p) << text;
  return p.string();
}

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const DatasetError& e) {
    return e.what();
  }
  return "";
}

TEST(Datasets, HowTo100MCaptionsGiveSortedSegmentsByVideoId) {
  DatasetIndex d;
  d.load_captions_json(
      write("h.json", R"({"abc": {"start": [5.0, 1.5], "end": [6.0, 2.5], "text": ["b", "a"]}})"));
  const auto a = d.lookup("/data/x/abc.mp4");
  ASSERT_EQ(a.segments.size(), 2u);
  EXPECT_EQ(a.segments[0], (TextSegment{1500000, 2500000, "a"}));
  EXPECT_EQ(a.segments[1].text, "b");
  EXPECT_TRUE(d.lookup("/data/other.mp4").segments.empty());
}

TEST(Datasets, YouCook2DatabaseGivesSegmentsAndSplit) {
  DatasetIndex d;
  d.load_captions_json(write("y.json", R"({"database": {"GLd3aX16zBg": {"subset": "training", "annotations": [
      {"segment": [90, 102], "sentence": "spread margarine on two slices of white bread"}]}}})"));
  const auto a = d.lookup("GLd3aX16zBg.webm");
  ASSERT_EQ(a.segments.size(), 1u);
  EXPECT_EQ(a.segments[0].start_us, 90000000);
  EXPECT_EQ(a.split, "train");
}

TEST(Datasets, Esc50AndAudioSetCsvGiveLabelsAndFolds) {
  DatasetIndex d;
  d.load_labels_csv(write("esc.csv",
                          "filename,fold,target,category,esc10,src_file,take\n"
                          "1-100032-A-0.wav,1,0,dog,True,100032,A\n"
                          "2-1001-A-1.wav,2,1,rooster,False,1001,A\n"));
  EXPECT_EQ(d.lookup("audio/1-100032-A-0.wav").labels, std::vector<std::string>{"dog"});
  EXPECT_EQ(d.lookup("audio/1-100032-A-0.wav").split, "fold1");
  EXPECT_EQ(d.lookup("2-1001-A-1.ogg").split, "fold2");
  DatasetIndex a;
  a.load_labels_csv(write("as.csv",
                          "# Segments csv created Sun Mar  5 10:54:31 2017\n"
                          "# YTID, start_seconds, end_seconds, positive_labels\n"
                          "--PJHxphWEs, 30.000, 40.000, \"/m/09x0r,/t/dd00088\"\n"));
  EXPECT_EQ(a.lookup("--PJHxphWEs.wav").labels, (std::vector<std::string>{"/m/09x0r", "/t/dd00088"}));
  EXPECT_EQ(a.lookup("--PJHxphWEs_30000.wav").labels.size(), 2u);  // "<id>_<start ms>" file names
}

TEST(Datasets, SplitListsNameTheSplitOfListedFiles) {
  DatasetIndex d;
  d.load_split_list("train", write("trainlist01.txt", "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1\n"));
  d.load_split_list("test", write("testlist01.txt", "ApplyLipstick/v_ApplyLipstick_g01_c01.avi\n"));
  EXPECT_EQ(d.lookup("/ucf/ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi").split, "train");
  EXPECT_EQ(d.lookup("v_ApplyLipstick_g01_c01.avi").split, "test");
}

TEST(Datasets, AFileInSeveralSplitListsIsInEachOfThem) {
  // UCF101: three train/test lists over the same files; a file is train in one split and test in another.
  DatasetIndex d;
  d.load_split_list("train1", write("tl1.txt", "A/v_a.avi 1\nB/v_b.avi 2\n"));
  d.load_split_list("test1", write("sl1.txt", "C/v_c.avi\n"));
  d.load_split_list("test2", write("sl2.txt", "A/v_a.avi\n"));
  d.load_split_list("train2", write("tl2.txt", "C/v_c.avi\nB/v_b.avi\n"));
  d.load_split_list("train2", write("tl2b.txt", "B/v_b.avi\n"));  // listed twice: named once
  EXPECT_EQ(d.lookup("/ucf/A/v_a.avi").split, "train1,test2");
  EXPECT_EQ(d.lookup("/ucf/B/v_b.avi").split, "train1,train2");
  EXPECT_EQ(d.lookup("/ucf/C/v_c.avi").split, "test1,train2");
}

TEST(Datasets, ClassFoldersUnderSplitFoldersGiveTheSplitAndTheClass) {
  // DATASET/train/CLASS/x, DATASET/Test/CLASS/x, and a class folder with no split folder above it.
  const std::string root = std::filesystem::path(write("layout-marker", "")).parent_path() / "layout";
  for (const char* f : {"train/cat/a.mp4", "Test/cat/b.mp4", "validation/dog/c.mp4", "bird/d.mp4"}) {
    std::filesystem::create_directories(std::filesystem::path(root + "/" + f).parent_path());
    std::ofstream(root + "/" + f) << "x";
  }
  SourceListOptions o;
  o.extensions = {"mp4"};
  o.labels_from_folder = true;
  const auto s = list_sources(root, o);
  ASSERT_EQ(s.size(), 4u);
  // Sorted by path: Test/ < bird/ < train/ < validation/.
  EXPECT_EQ(s[0].split, "test");
  EXPECT_EQ(s[0].label, "cat");
  EXPECT_EQ(s[1].split, "");
  EXPECT_EQ(s[1].label, "bird");
  EXPECT_EQ(s[2].split, "train");
  EXPECT_EQ(s[2].label, "cat");
  EXPECT_EQ(s[3].split, "validation");
  EXPECT_EQ(s[3].label, "dog");
}

TEST(Datasets, SplitNamesAreComparedInOneSpelling) {
  EXPECT_EQ(canonical_split("Training"), "train");
  EXPECT_EQ(canonical_split("testing"), "test");
  EXPECT_EQ(canonical_split("validation"), "val");
  EXPECT_EQ(canonical_split("validate"), "val");
  EXPECT_EQ(canonical_split("Fold3"), "fold3");
  EXPECT_EQ(split_names("train1, test2,,VALIDATION"), (std::set<std::string>{"train1", "test2", "val"}));
  EXPECT_TRUE(split_names("").empty());
}

TEST(Datasets, MalformedFilesNameTheFileAndWhat) {
  DatasetIndex d;
  const auto bad = write("bad.json", "{\"abc\": {\"start\": [1], \"end\": [2, 3], \"text\": [\"x\"]}}");
  EXPECT_EQ(error_of([&] { d.load_captions_json(bad); }),
            bad + ": abc: expected arrays start, end and text of the same length");
  const auto broken = write("broken.json", "{\"abc\": ");
  EXPECT_EQ(error_of([&] { d.load_captions_json(broken); }).rfind(broken + ": malformed JSON", 0), 0u);
  const auto csv = write("bad.csv", "# comment\nonly,two\n");
  EXPECT_EQ(error_of([&] { d.load_labels_csv(csv); }),
            csv + ":2: expected YTID, start_seconds, end_seconds, \"labels\"");
  EXPECT_NE(error_of([&] { d.load_split_list("x", "/nonexistent/list.txt"); }), "");
}

}  // namespace
}  // namespace vatt::nodes
