// The evaluation graphs on the shared trained fixture (tests/graphs/trained_fixture.h): linear probes on the
// corpus's class folders (its 12 concepts are the labels), on UCF101-style split lists and on an ESC-50-style
// folder of short audio-only files; zero-shot retrieval on its MSR-VTT-style captions. Real decoding, the
// real checkpoint, real liblinear and LibTorch; and `vatt report` over the fixture's run, opened in headless
// Chromium.
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/graphs/json_file.h"
#include "tests/graphs/run_vatt.h"
#include "tests/graphs/trained_fixture.h"

namespace vatt::test {
namespace {

namespace fs = std::filesystem;

std::string graph(const std::string& name) {
  return std::string(VATT_SOURCE_DIR) + "/graphs/" + name;
}

Result probe(const std::string& dir, const std::vector<std::string>& extra) {
  std::vector<std::string> args = {"run",        graph("eval-linear.yaml"),
                                   "--progress", "0",
                                   "--set",      "model.checkpoint=" + trained().ckpt,
                                   "--metrics",  dir + "/metrics.json"};
  args.insert(args.end(), extra.begin(), extra.end());
  return run_vatt(args);
}

TEST(EvalLinear, ClassFoldersWithTrainAndTestScoreFarAboveChanceWithBothClassifiers) {
  const std::string dir = temp_path("eval-linear");
  fs::create_directories(dir);
  const std::string classes = trained().corpus + "/classes";
  for (const std::string method : {"lrc", "svm"}) {
    auto r = probe(dir, {"--set", "src.uri=" + classes, "--set", "probe.method=" + method, "--set",
                         "probe.report=" + dir + "/" + method + ".json", "--set",
                         "probe.confusion=" + dir + "/" + method + ".csv"});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const auto p = read_json(dir + "/metrics.json")["nodes"]["probe"];
    EXPECT_EQ(p["classes"].get<int>(), 12) << p.dump();
    EXPECT_EQ(p["sources"].get<int>(), 36) << p.dump();  // 24 train + 12 held-out videos, all of them
    EXPECT_NEAR(p["chance"].get<double>(), 100.0 / 12, 1e-9);
    // The concepts differ in colour and pattern: frozen video features separate them.
    EXPECT_GE(p["top1"].get<double>(), 50.0) << method << ": " << r.output;
    EXPECT_GE(p["top5"].get<double>(), p["top1"].get<double>());
    ASSERT_TRUE(p["splits"].contains("test")) << p.dump();
    const auto rep = read_json(dir + "/" + method + ".json");
    ASSERT_EQ(rep["splits"].size(), 1u);
    EXPECT_EQ(rep["splits"][0]["train"].get<int>(), 24);
    EXPECT_EQ(rep["splits"][0]["test"].get<int>(), 12);
    if (method == "svm") {
      EXPECT_GT(rep["splits"][0]["C"].get<double>(), 0);
    }
    // The confusion matrix: a header and 12 rows of 12 counts adding up to the 12 test videos, its diagonal
    // the correct ones.
    std::ifstream csv(dir + "/" + method + ".csv");
    std::string line;
    std::getline(csv, line);
    EXPECT_EQ(std::count(line.begin(), line.end(), ','), 12) << line;
    int rows = 0, total = 0, diagonal = 0;
    while (std::getline(csv, line)) {
      std::stringstream ss(line);
      std::string cell;
      std::getline(ss, cell, ',');
      for (int col = 0; std::getline(ss, cell, ','); ++col) {
        total += std::stoi(cell);
        if (col == rows) diagonal += std::stoi(cell);
      }
      ++rows;
    }
    EXPECT_EQ(rows, 12);
    EXPECT_EQ(total, 12);
    EXPECT_NEAR(100.0 * diagonal / 12, p["top1"].get<double>(), 1e-6);
  }
  fs::remove_all(dir);
}

TEST(EvalLinear, AClipStoreIngestedOnceGivesTheSameFiguresWithoutDecoding) {
  // Ingest the class folders once, with the evaluation's own source settings (labels and splits are kept
  // in the clip records), then evaluate from the store: nothing decodes, the figures are the same.
  const std::string dir = temp_path("eval-store");
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string classes = trained().corpus + "/classes";
  auto ingest = run_vatt({"run",   graph("ingest.yaml"),     "--progress", "0",
                          "--set", "src.uri=" + classes,     "--set",      "store.db=" + dir + "/eval.db",
                          "--set", "store.store_media=true", "--set",      "src.labels_from_folder=true",
                          "--set", "src.sampling=uniform",   "--set",      "src.clips_per_source=4",
                          "--set", "src.pad_short=true",     "--set",      "src.asr=off",
                          "--set", "src.subtitles=false",    "--set",      "src.fps=2.5",
                          "--set", "src.short_side=40",      "--set",      "src.sample_rate=8000",
                          "--set", "src.clip_seconds=3.2"});
  ASSERT_EQ(ingest.exit_code, 0) << ingest.output;
  auto direct = probe(dir, {"--set", "src.uri=" + classes, "--set", "probe.method=svm"});
  ASSERT_EQ(direct.exit_code, 0) << direct.output;
  const auto a = read_json(dir + "/metrics.json")["nodes"];
  auto stored = probe(dir, {"--set", "src.uri=" + dir + "/eval.db", "--set", "probe.method=svm"});
  ASSERT_EQ(stored.exit_code, 0) << stored.output;
  const auto b = read_json(dir + "/metrics.json")["nodes"];
  // Read back, not decoded: the source's units are the stored clips themselves.
  EXPECT_NE(stored.output.find("stored clip(s) in clip store " + dir + "/eval.db"), std::string::npos)
      << stored.output;
  EXPECT_EQ(b["src"]["clips"].get<double>(), a["src"]["clips"].get<double>());
  EXPECT_EQ(b["probe"]["sources"], a["probe"]["sources"]);
  EXPECT_EQ(b["probe"]["top1"], a["probe"]["top1"]);
  EXPECT_EQ(b["probe"]["top5"], a["probe"]["top5"]);
  fs::remove_all(dir);
}

TEST(EvalLinear, SplitListsGiveOneFigurePerSplitAndTheirMean) {
  // UCF101's layout: CLASS/file folders (no split folders) with trainlistNN/testlistNN files naming
  // "CLASS/file"; a file sits in several lists.
  const std::string dir = temp_path("eval-ucf");
  fs::remove_all(dir);
  const std::string root = dir + "/ucf";
  std::vector<std::pair<std::string, std::string>> files;  // (class, path)
  for (const char* split : {"train", "test"})
    for (const auto& c : fs::directory_iterator(trained().corpus + "/classes/" + split))
      for (const auto& f : fs::directory_iterator(c.path())) {
        const std::string cls = c.path().filename().string(), name = f.path().filename().string();
        fs::create_directories(root + "/" + cls);
        fs::create_symlink(fs::canonical(f.path()), root + "/" + cls + "/" + name);
        files.emplace_back(cls, cls + "/" + name);
      }
  std::sort(files.begin(), files.end());
  ASSERT_EQ(files.size(), 36u);
  // Split 1: every third file of a class is a test file; split 2: another third.
  std::ofstream tr1(dir + "/trainlist01.txt"), te1(dir + "/testlist01.txt"), tr2(dir + "/trainlist02.txt"),
      te2(dir + "/testlist02.txt");
  for (size_t i = 0; i < files.size(); ++i) {
    (i % 3 == 0 ? te1 : tr1) << files[i].second << " 1\n";
    (i % 3 == 1 ? te2 : tr2) << files[i].second << " 1\n";
  }
  tr1.close(), te1.close(), tr2.close(), te2.close();
  auto r = probe(
      dir, {"--set", "src.uri=" + root, "--set", "probe.method=svm", "--set",
            "src.split_lists=[train1=" + dir + "/trainlist01.txt,test1=" + dir +
                "/testlist01.txt,train2=" + dir + "/trainlist02.txt,test2=" + dir + "/testlist02.txt]"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto p = read_json(dir + "/metrics.json")["nodes"]["probe"];
  ASSERT_TRUE(p["splits"].contains("1") && p["splits"].contains("2")) << p.dump();
  EXPECT_NEAR(p["top1"].get<double>(), (p["splits"]["1"].get<double>() + p["splits"]["2"].get<double>()) / 2,
              1e-9);
  EXPECT_GE(p["top1"].get<double>(), 40.0) << r.output;
  // A split list that does not exist is named, and the run stops: no split is left to evaluate.
  auto bad =
      probe(dir, {"--set", "src.uri=" + root, "--set", "src.split_lists=[train1=" + dir + "/nope.txt]"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.output.find(dir + "/nope.txt"), std::string::npos) << bad.output;
  fs::remove_all(dir);
}

TEST(EvalLinear, ShortAudioOnlyFilesInFoldsArePaddedAndEveryOneCounts) {
  // ESC-50's layout: audio/*.wav and meta/esc50.csv (filename, fold, target, category). Each file is 2 s,
  // shorter than the model's 3.2 s clip; four classes of tones, five folds, two takes of a class per fold.
  // (With 1 s files, two thirds of every clip silence, this small model's features fall to 35-45%.)
  const std::string dir = temp_path("eval-esc");
  fs::remove_all(dir);
  fs::create_directories(dir + "/audio");
  fs::create_directories(dir + "/meta");
  std::ofstream meta(dir + "/meta/esc50.csv");
  meta << "filename,fold,target,category,esc10,src_file,take\n";
  const double hz[] = {250, 600, 1400, 2900};
  const char* names[] = {"low", "mid", "high", "top"};
  int n = 0;
  for (int fold = 1; fold <= 5; ++fold)
    for (int c = 0; c < 4; ++c)
      for (const char take : {'A', 'B'}) {
        const std::string file =
            std::to_string(fold) + "-" + std::to_string(c) + "-" + take + "-" + std::to_string(c) + ".wav";
        const double freq = hz[c] * (1 + 0.01 * fold) + (take == 'B' ? 7 : 0);
        const std::string cmd = "gst-launch-1.0 -q audiotestsrc wave=sine freq=" + std::to_string(freq) +
                                " num-buffers=16 samplesperbuffer=1000 ! audio/x-raw,rate=8000,channels=1 ! "
                                "wavenc ! filesink location=" +
                                dir + "/audio/" + file;
        ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
        meta << file << "," << fold << "," << c << "," << names[c] << ",False,1," << take << "\n";
        ++n;
      }
  meta.close();
  auto r = probe(dir, {"--set", "src.uri=" + dir + "/audio", "--set",
                       "src.labels_csv=" + dir + "/meta/esc50.csv", "--set", "src.labels_from_folder=false",
                       "--set", "probe.features=audio", "--set", "probe.method=svm"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto p = read_json(dir + "/metrics.json")["nodes"]["probe"];
  EXPECT_EQ(p["sources"].get<int>(), n) << r.output;  // none skipped as too short
  EXPECT_EQ(p["classes"].get<int>(), 4);
  EXPECT_EQ(p["splits"].size(), 5u) << p.dump();
  EXPECT_GE(p["top1"].get<double>(), 50.0) << r.output;  // chance 25%
  // Video features of audio-only files do not exist: every clip is reported, and the run stops with why.
  auto v = probe(dir, {"--set", "src.uri=" + dir + "/audio", "--set",
                       "src.labels_csv=" + dir + "/meta/esc50.csv", "--set", "probe.features=video"});
  EXPECT_NE(v.exit_code, 0);
  EXPECT_NE(v.output.find("use features audio"), std::string::npos) << v.output;
  // A malformed line of the labels CSV is named by file and line.
  {
    std::ofstream bad(dir + "/meta/bad.csv");
    bad << "filename,fold,target,category,esc10,src_file,take\n1-0-A-0.wav,1,0,low,False,1,A\n2-0-A-0.wav\n";
  }
  auto b =
      probe(dir, {"--set", "src.uri=" + dir + "/audio", "--set", "src.labels_csv=" + dir + "/meta/bad.csv",
                  "--set", "src.labels_from_folder=false", "--set", "probe.features=audio"});
  EXPECT_NE(b.exit_code, 0);
  EXPECT_NE(b.output.find(dir + "/meta/bad.csv:3"), std::string::npos) << b.output;
  fs::remove_all(dir);
}

TEST(EvalZeroShot, CaptionsAgainstPerVideoMeansOfFourClipsWithTheirCounts) {
  const std::string dir = temp_path("eval-zeroshot");
  fs::create_directories(dir);
  auto run = [&](const std::vector<std::string>& extra) {
    std::vector<std::string> args = {"run",        graph("eval-zeroshot.yaml"),
                                     "--progress", "0",
                                     "--set",      "src.uri=" + trained().corpus + "/heldout",
                                     "--set",      "src.captions=" + trained().corpus + "/captions.json",
                                     "--set",      "model.checkpoint=" + trained().ckpt,
                                     "--set",      "score.report=" + dir + "/report.json",
                                     "--metrics",  dir + "/metrics.json"};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_vatt(args);
  };
  auto r = run({});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto s = read_json(dir + "/metrics.json")["nodes"]["score"];
  EXPECT_EQ(s["clips_per_video"].get<double>(), 4.0) << s.dump();
  for (const char* d : {"t2v", "v2t"}) {
    const auto& x = s[d];
    EXPECT_EQ(x["gallery"].get<int>(), std::string(d) == "t2v" ? 12 : 36) << s.dump();
    EXPECT_EQ(x["queries"].get<int>(), std::string(d) == "t2v" ? 36 : 12) << s.dump();
    EXPECT_LE(x["R@1"].get<double>(), x["R@5"].get<double>());
    EXPECT_LE(x["R@5"].get<double>(), x["R@10"].get<double>());
    EXPECT_GE(x["MedR"].get<double>(), 1.0);
  }
  // Trained on the same concepts with other sentences: text finds its video well above chance (5/12).
  EXPECT_GT(s["t2v"]["R@5"].get<double>(), 2 * 100.0 * 5 / 12 * 0.6) << r.output;
  EXPECT_NE(r.output.find("queries"), std::string::npos);
  // One caption per video (MSR-VTT 1k-A) and the middle clip alone.
  auto one = run({"--set", "score.captions_per_video=1", "--set", "src.clips_per_source=1"});
  ASSERT_EQ(one.exit_code, 0) << one.output;
  const auto o = read_json(dir + "/metrics.json")["nodes"]["score"];
  EXPECT_EQ(o["t2v"]["queries"].get<int>(), 12);
  EXPECT_EQ(o["clips_per_video"].get<double>(), 1.0);
  // The training split's videos are not in the test split: none is left, and the run says why.
  auto none = run({"--set", "src.uri=" + trained().corpus + "/train"});
  EXPECT_NE(none.exit_code, 0);
  EXPECT_NE(none.output.find("split 'test'"), std::string::npos) << none.output;
  fs::remove_all(dir);
}

TEST(EvalZeroShot, AnMsrVttStyleSplitListPicksTheTestVideosAndMalformedFilesAreNamed) {
  // MSR-VTT 1k-A: the test videos come from a list (here 6 of the 12 held-out ones), one caption each.
  const std::string dir = temp_path("eval-msrvtt");
  fs::create_directories(dir);
  {
    std::ofstream list(dir + "/test1k.txt");
    for (int i = 0; i < 12; i += 2) list << "h" << (i < 10 ? "00" : "0") << i << ".webm\n";
  }
  auto base = [&](const std::string& captions) {
    return std::vector<std::string>{"run",        graph("eval-zeroshot.yaml"),
                                    "--progress", "0",
                                    "--set",      "src.uri=" + trained().corpus + "/heldout",
                                    "--set",      "src.captions=" + captions,
                                    "--set",      "model.checkpoint=" + trained().ckpt,
                                    "--metrics",  dir + "/m.json"};
  };
  auto args = base(trained().corpus + "/captions.json");
  for (const std::string& a : {"src.split_lists=[test1k=" + dir + "/test1k.txt]",
                               std::string("src.split=test1k"), std::string("score.captions_per_video=1")}) {
    args.push_back("--set");
    args.push_back(a);
  }
  auto r = run_vatt(args);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto s = read_json(dir + "/m.json")["nodes"]["score"];
  EXPECT_EQ(s["t2v"]["queries"].get<int>(), 6) << s.dump();
  EXPECT_EQ(s["t2v"]["gallery"].get<int>(), 6) << s.dump();
  EXPECT_NE(r.output.find("split 'test1k': 6 of 12 source(s)"), std::string::npos) << r.output;
  // A captions file that does not parse is named; with no captions left, the run stops and says why.
  std::ofstream(dir + "/bad.json")
      << "{\"videos\": [{\"video_id\": \"h000\", \"split\": \"test\"}], \"sentences\": [";
  auto bad = run_vatt(base(dir + "/bad.json"));
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.output.find(dir + "/bad.json: malformed JSON"), std::string::npos) << bad.output;
  fs::remove_all(dir);
}

TEST(EvalZeroShot, YouCook2SegmentsAreGalleryItemsOfTheirOwn) {
  // A YouCook2-style database over the held-out videos: each of a video's three narrated clips is an
  // annotated segment with its sentence, subset "validation".
  const std::string dir = temp_path("eval-youcook");
  fs::create_directories(dir);
  const auto captions = read_json(trained().corpus + "/captions.json");
  nlohmann::json db;
  std::map<std::string, int> seen;
  for (const auto& sen : captions["sentences"]) {
    const std::string id = sen["video_id"];
    if (id[0] != 'h') continue;
    const int k = seen[id]++;
    db["database"][id]["subset"] = "validation";
    db["database"][id]["annotations"].push_back(
        {{"segment", {3.2 * k, 3.2 * k + 3.2}}, {"sentence", sen["caption"]}});
  }
  db["database"]["not_a_file"]["subset"] = "validation";  // listed, but no such video: not in the gallery
  std::ofstream(dir + "/youcook2.json") << db.dump();
  auto r =
      run_vatt({"run", graph("eval-zeroshot.yaml"), "--progress", "0", "--set",
                "src.uri=" + trained().corpus + "/heldout", "--set", "src.captions=" + dir + "/youcook2.json",
                "--set", "src.split=validation", "--set", "src.segments=true", "--set",
                "model.checkpoint=" + trained().ckpt, "--metrics", dir + "/metrics.json"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto s = read_json(dir + "/metrics.json")["nodes"]["score"];
  EXPECT_EQ(s["t2v"]["queries"].get<int>(), 36) << s.dump();
  EXPECT_EQ(s["t2v"]["gallery"].get<int>(), 36) << s.dump();  // 12 videos x 3 segments
  EXPECT_EQ(s["v2t"]["queries"].get<int>(), 36);
  EXPECT_NE(r.output.find("36 segment(s) of 12 source(s)"), std::string::npos) << r.output;
  // Chance R@5 is 5/36 = 13.9%; the segments of one video show the same concept, so R@5 counts what matters.
  EXPECT_GT(s["t2v"]["R@5"].get<double>(), 2 * 100.0 * 5 / 36) << r.output;
  fs::remove_all(dir);
}

TEST(Finetune, VideoBeatsTheFrozenProbeOnTheSameSplitResumesAfterKillNineAndKeepsTheBackboneUsable) {
  const std::string dir = temp_path("finetune-video");
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string classes = trained().corpus + "/classes", out = dir + "/ft";
  const std::vector<std::string> args = {"run",        graph("finetune-video.yaml"),
                                         "--progress", "0",
                                         "--set",      "src.uri=" + classes,
                                         "--set",      "train.checkpoint=" + trained().ckpt,
                                         "--set",      "train.checkpoint_dir=" + out,
                                         "--set",      "train.steps=60",
                                         "--set",      "train.lr=0.05",
                                         "--set",      "train.checkpoint_every=20"};
  // Killed right after its first checkpoint; the same command resumes from it.
  auto killed = run_vatt(args, 0, SIGKILL, "train: checkpoint");
  EXPECT_NE(killed.exit_code, 0) << killed.output;
  ASSERT_TRUE(fs::exists(out + "/ckpt-000000000020.pt")) << killed.output;
  auto resumed = run_vatt(args);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("resumed at step"), std::string::npos) << resumed.output;
  EXPECT_NE(resumed.output.find("step 60/60"), std::string::npos) << resumed.output;
  ASSERT_TRUE(fs::exists(out + "/ckpt-000000000060.pt"));
  // Test: 4 clips x 3 crops per held-out video.
  auto test = run_vatt({"run", graph("eval-classify.yaml"), "--progress", "0", "--set", "src.uri=" + classes,
                        "--set", "model.checkpoint=" + out, "--set", "model.report=" + dir + "/classify.json",
                        "--metrics", dir + "/classify-metrics.json"});
  ASSERT_EQ(test.exit_code, 0) << test.output;
  const auto m = read_json(dir + "/classify-metrics.json")["nodes"]["model"];
  EXPECT_EQ(m["sources"].get<int>(), 12) << m.dump();
  EXPECT_EQ(m["views_per_source"].get<double>(), 12.0);
  const double ft = m["top1"].get<double>();
  EXPECT_GE(ft, 50.0) << test.output;  // chance 8.3%
  // The frozen features of the same backbone, same split, the paper's low-rank classifier.
  auto lin = probe(dir, {"--set", "src.uri=" + classes});
  ASSERT_EQ(lin.exit_code, 0) << lin.output;
  const double frozen = read_json(dir + "/metrics.json")["nodes"]["probe"]["top1"].get<double>();
  EXPECT_GE(ft, frozen) << "fine-tuned " << ft << "% vs frozen " << frozen << "%";
  // The fine-tuned checkpoint still embeds (search, retrieval) through its backbone.
  auto ret = run_vatt({"run", graph("eval-retrieval.yaml"), "--progress", "0", "--set",
                       "src.uri=" + trained().corpus + "/heldout", "--set", "model.checkpoint=" + out});
  EXPECT_EQ(ret.exit_code, 0) << ret.output;
  // A pretraining checkpoint has no head to test.
  auto nohead = run_vatt({"run", graph("eval-classify.yaml"), "--progress", "0", "--set",
                          "src.uri=" + classes, "--set", "model.checkpoint=" + trained().ckpt});
  EXPECT_NE(nohead.exit_code, 0);
  EXPECT_NE(nohead.output.find("has no classification head"), std::string::npos) << nohead.output;
  fs::remove_all(dir);
}

TEST(Finetune, AudioMultiLabelWithMixupGivesMapAucAndDPrime) {
  // AudioSet's layout: YTID_START.wav files and a segments CSV with quoted label lists; three kinds of clip:
  // a low tone ("low"), a high tone ("high"), both ("low,high").
  const std::string dir = temp_path("finetune-audio");
  fs::remove_all(dir);
  fs::create_directories(dir + "/train");
  fs::create_directories(dir + "/eval");
  std::ofstream train_csv(dir + "/train.csv"), eval_csv(dir + "/eval.csv");
  for (auto* csv : {&train_csv, &eval_csv})
    *csv << "# Segments csv\n# YTID, start_seconds, end_seconds, positive_labels\n";
  for (int i = 0; i < 36; ++i) {
    const int kind = i % 3;
    const bool test = i >= 24;
    const double jitter = 1 + 0.01 * (i % 7);
    const std::string id = "yt" + std::to_string(i),
                      file = dir + (test ? "/eval/" : "/train/") + id + "_30.wav";
    const std::string low = "audiotestsrc wave=sine freq=" + std::to_string(300 * jitter) +
                            " num-buffers=16 samplesperbuffer=1000 ! audio/x-raw,rate=8000,channels=1 ! m. ";
    const std::string high = "audiotestsrc wave=sine freq=" + std::to_string(2500 * jitter) +
                             " num-buffers=16 samplesperbuffer=1000 ! audio/x-raw,rate=8000,channels=1 ! m. ";
    const std::string cmd =
        "gst-launch-1.0 -q audiomixer name=m ! audio/x-raw,rate=8000,channels=1 ! wavenc ! "
        "filesink location=" +
        file + " " + (kind != 1 ? low : "") + (kind != 0 ? high : "");
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    (test ? eval_csv : train_csv) << id << ", 30.000, 40.000, \""
                                  << (kind == 0   ? "low"
                                      : kind == 1 ? "high"
                                                  : "low,high")
                                  << "\"\n";
  }
  train_csv.close();
  eval_csv.close();
  auto ft = run_vatt({"run", graph("finetune-audio.yaml"), "--progress", "0", "--set",
                      "src.uri=" + dir + "/train", "--set", "src.labels_csv=" + dir + "/train.csv", "--set",
                      "train.checkpoint=" + trained().ckpt, "--set", "train.checkpoint_dir=" + dir + "/ft",
                      "--set", "train.steps=60", "--set", "train.lr=0.05"});
  ASSERT_EQ(ft.exit_code, 0) << ft.output;
  EXPECT_NE(ft.output.find("for 2 classes (multi-label"), std::string::npos) << ft.output;
  auto test = run_vatt({"run", graph("eval-classify.yaml"), "--progress", "0", "--set",
                        "src.uri=" + dir + "/eval", "--set", "src.labels_csv=" + dir + "/eval.csv", "--set",
                        "src.split=", "--set", "src.labels_from_folder=false", "--set",
                        "model.checkpoint=" + dir + "/ft", "--metrics", dir + "/m.json"});
  ASSERT_EQ(test.exit_code, 0) << test.output;
  const auto m = read_json(dir + "/m.json")["nodes"]["model"];
  EXPECT_EQ(m["sources"].get<int>(), 12) << m.dump();
  // 2 s files against a 3.2 s clip: one padded clip each, one view (audio has no crops).
  EXPECT_EQ(m["views_per_source"].get<double>(), 1.0);
  EXPECT_GT(m["mAP"].get<double>(), 75.0) << test.output;
  EXPECT_GT(m["AUC"].get<double>(), 75.0) << test.output;
  EXPECT_GT(m["d_prime"].get<double>(), 0.5) << test.output;
  fs::remove_all(dir);
}

TEST(Finetune, StillImagesBecomeClipsOfOneRepeatedFrameAtFourFrames) {
  // Four classes of generated images (PNG and JPEG), train/ and test/ folders.
  const std::string dir = temp_path("finetune-image");
  fs::remove_all(dir);
  const std::vector<std::pair<std::string, std::string>> kinds = {
      {"red", "pattern=solid-color foreground-color=0xffff0000"},
      {"blue", "pattern=solid-color foreground-color=0xff0000ff"},
      {"checkers", "pattern=checkers-8"},
      {"snow", "pattern=snow"}};
  for (const auto& [name, pattern] : kinds)
    for (int i = 0; i < 5; ++i) {
      const std::string split = i < 3 ? "train" : "test", folder = dir + "/" + split + "/" + name;
      fs::create_directories(folder);
      const bool png = i % 2 == 0;
      const std::string cmd = "gst-launch-1.0 -q videotestsrc " + pattern +
                              " num-buffers=1 ! video/x-raw,width=" + std::to_string(64 + 8 * i) +
                              ",height=48 ! " + (png ? "pngenc" : "jpegenc") +
                              " ! filesink location=" + folder + "/" + std::to_string(i) +
                              (png ? ".png" : ".jpg");
      ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    }
  auto ft =
      run_vatt({"run", graph("finetune-image.yaml"), "--progress", "0", "--set", "src.uri=" + dir, "--set",
                "train.checkpoint=" + trained().ckpt, "--set", "train.checkpoint_dir=" + dir + "/ft", "--set",
                "train.steps=40", "--set", "train.lr=0.05", "--set", "batch.size=6"});
  ASSERT_EQ(ft.exit_code, 0) << ft.output;
  EXPECT_NE(ft.output.find("for 4 classes"), std::string::npos) << ft.output;
  EXPECT_NE(ft.output.find("input 4 frames of"), std::string::npos) << ft.output;  // positions resized
  auto test = run_vatt({"run", graph("eval-classify.yaml"), "--progress", "0", "--set", "src.uri=" + dir,
                        "--set", "src.extensions=[jpg,png]", "--set", "model.checkpoint=" + dir + "/ft",
                        "--set", "model.crops=1", "--metrics", dir + "/m.json"});
  ASSERT_EQ(test.exit_code, 0) << test.output;
  const auto m = read_json(dir + "/m.json")["nodes"]["model"];
  EXPECT_EQ(m["sources"].get<int>(), 8) << m.dump();
  EXPECT_EQ(m["views_per_source"].get<double>(), 1.0);      // one clip per image, one crop
  EXPECT_GE(m["top1"].get<double>(), 75.0) << test.output;  // chance 25%
  fs::remove_all(dir);
}

/// Width and height from a PNG's IHDR chunk; {0, 0} when the file is not a PNG.
std::pair<uint32_t, uint32_t> png_size(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  unsigned char h[24] = {};
  in.read(reinterpret_cast<char*>(h), 24);
  const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (!in || std::memcmp(h, sig, 8) != 0 || std::memcmp(h + 12, "IHDR", 4) != 0) return {0, 0};
  auto be = [&](int o) {
    return (uint32_t{h[o]} << 24) | (uint32_t{h[o + 1]} << 16) | (uint32_t{h[o + 2]} << 8) | h[o + 3];
  };
  return {be(16), be(20)};
}

TEST(Report, ARunAndItsEvaluationsOpenInChromiumWithEveryChartDrawnAndValidPngs) {
  const std::string dir = temp_path("report");
  fs::remove_all(dir);
  fs::create_directories(dir + "/ckpt");
  fs::copy_file(trained().ckpt + "/steps.jsonl", dir + "/ckpt/steps.jsonl");
  // The evaluations write their reports beside the run (its parent folder), as the demo does.
  auto ret =
      run_vatt({"run", graph("eval-retrieval.yaml"), "--progress", "0", "--set",
                "src.uri=" + trained().corpus + "/heldout", "--set", "model.checkpoint=" + trained().ckpt,
                "--set", "score.report=" + dir + "/retrieval.json"});
  ASSERT_EQ(ret.exit_code, 0) << ret.output;
  auto lin = probe(dir, {"--set", "src.uri=" + trained().corpus + "/classes", "--set", "probe.method=svm",
                         "--set", "probe.report=" + dir + "/probe.json"});
  ASSERT_EQ(lin.exit_code, 0) << lin.output;
  auto rep = run_vatt({"report", dir + "/ckpt", "--out", dir + "/report.html"});
  ASSERT_EQ(rep.exit_code, 0) << rep.output;
  // Loss, lr, grad norm, throughput; retrieval bars, two densities, the map; probe bars, confusion.
  const std::vector<std::string> ids = {"loss",        "lr",           "grad-norm",    "throughput",
                                        "retrieval-1", "density-vt-1", "density-va-1", "map-1",
                                        "probe-1",     "confusion-1"};
  for (const auto& id : ids) {
    const auto [w, h] = png_size(dir + "/report-" + id + ".png");
    EXPECT_EQ(w, 1440u) << id;
    EXPECT_EQ(h, 720u) << id;
  }
  std::ifstream page(dir + "/report.html");
  const std::string html((std::istreambuf_iterator<char>(page)), std::istreambuf_iterator<char>());
  EXPECT_EQ(html.find("http://"), html.find("http://www.w3.org/2000/svg"));  // only the SVG namespace
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(html.find("src="), std::string::npos);  // nothing loaded from anywhere
  const std::string out = dir + "/dom.html", log = dir + "/chromium.log";
  const std::string cmd =
      "timeout 60 chromium --headless --no-sandbox --disable-gpu --no-first-run "
      "--enable-logging=stderr --v=0 --virtual-time-budget=5000 --dump-dom 'file://" +
      dir + "/report.html' > " + out + " 2> " + log;
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::ifstream din(out), lin2(log);
  const std::string dom((std::istreambuf_iterator<char>(din)), std::istreambuf_iterator<char>());
  const std::string console((std::istreambuf_iterator<char>(lin2)), std::istreambuf_iterator<char>());
  size_t figures = 0;
  for (size_t p = dom.find("class=\"chart\""); p != std::string::npos; p = dom.find("class=\"chart\"", p + 1))
    ++figures;
  EXPECT_GE(figures, ids.size());
  // The page's own check, run after layout: every chart drew something.
  EXPECT_NE(dom.find("data-drawn=\"" + std::to_string(figures) + "\""), std::string::npos)
      << dom.substr(0, 2000);
  EXPECT_EQ(console.find("Uncaught"), std::string::npos) << console;
  EXPECT_EQ(console.find(":CONSOLE("), std::string::npos) << console;
  // A torn step log is named by file and line; a file that is not a report is refused by name.
  size_t lines = 0;
  {
    std::ifstream steps(dir + "/ckpt/steps.jsonl");
    for (std::string l; std::getline(steps, l);) ++lines;
  }
  ASSERT_GT(lines, 2u);
  std::ofstream(dir + "/ckpt/steps.jsonl", std::ios::app) << "{\"step\": 5, \"loss\n";
  auto torn = run_vatt({"report", dir + "/ckpt", "--out", dir + "/torn.html"});
  EXPECT_EQ(torn.exit_code, 1);
  EXPECT_NE(torn.output.find(dir + "/ckpt/steps.jsonl:" + std::to_string(lines + 1)), std::string::npos)
      << torn.output;
  std::ofstream(dir + "/other.txt") << "{}";
  fs::remove(dir + "/ckpt/steps.jsonl");
  auto other = run_vatt({"report", dir + "/ckpt", "--eval", dir + "/other.txt"});
  EXPECT_EQ(other.exit_code, 1);
  EXPECT_NE(other.output.find(dir + "/other.txt: not an evaluation report"), std::string::npos)
      << other.output;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace vatt::test
