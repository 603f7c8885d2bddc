// vatt export: a checkpoint's weights as safetensors (config, vocabulary and input description in the
// metadata), or a store's embeddings as numpy .npy files with their keys.
//
// Embeddings export, for OUT.npy:
//   OUT.npy          float32 [N, dim], row i the vector of key i (C order, little-endian)
//   OUT.keys.npy     structured [N]: source (u8, the source id), clip (u8), start (f8 s), end (f8 s)
//   OUT.sources.json {"<source id, 16 hex digits>": "<URI>", ...}
// numpy.load reads both .npy files; the format is numpy's own: magic, version 1.0, a header dict, raw data.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "model/embedder.h"
#include "storage/clip_store.h"
#include "storage/embedding_store.h"
#include "tools/vatt/cli_common.h"

namespace vatt::cli {

namespace {

/// Writes a .npy file: `descr` is numpy's dtype description, `shape` its shape text, `data` the raw bytes.
void write_npy(const std::string& path, const std::string& descr, const std::string& shape,
               const std::string& data) {
  std::string header = "{'descr': " + descr + ", 'fortran_order': False, 'shape': " + shape + ", }";
  // magic (6) + version (2) + header length (2) + header, padded with spaces to a multiple of 64, '\n' last.
  const size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write("\x93NUMPY\x01\x00", 8);
  const auto len = static_cast<uint16_t>(header.size());
  const char le[2] = {static_cast<char>(len & 0xff), static_cast<char>(len >> 8)};
  out.write(le, 2);
  out << header;
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  if (!out) throw std::runtime_error(path + ": cannot write");
}

template <class T>
void append(std::string& s, T v) {
  s.append(reinterpret_cast<const char*>(&v), sizeof v);
}

int export_embeddings(const std::string& db, const std::string& model_arg, const std::string& space_arg,
                      const std::string& out) {
  if (!storage::ClipStore::exists_at(db)) {
    std::fprintf(stderr, "vatt: --db %s: no such database\n", db.c_str());
    return 2;
  }
  auto space = storage::space_from_name(space_arg);
  if (!space) {
    std::string names;
    for (auto s : storage::all_spaces())
      names += std::string(names.empty() ? "" : ", ") + storage::space_name(s);
    std::fprintf(stderr, "vatt: --space %s: expected one of %s\n", space_arg.c_str(), names.c_str());
    return 2;
  }
  if (out.size() < 5 || out.substr(out.size() - 4) != ".npy") {
    std::fprintf(stderr, "vatt: %s: the embeddings go to a .npy file (OUT.npy)\n", out.c_str());
    return 2;
  }
  storage::ClipStore store(db, storage::Access::ReadOnly);
  storage::EmbeddingStore es(store.db());
  std::optional<storage::ModelRecord> model;
  for (const auto& m : es.models())
    if (model_arg.empty() || storage::hex_id(m.id).rfind(model_arg, 0) == 0) model = m;
  if (!model) {
    std::fprintf(stderr, "vatt: %s holds no model%s%s\n", db.c_str(), model_arg.empty() ? "" : " ",
                 model_arg.c_str());
    return 2;
  }
  std::string vectors, keys;
  uint64_t n = 0;
  int dim = 0;
  es.scan_vectors(model->id, *space, std::nullopt,
                  [&](uint64_t source, uint64_t clip, const storage::StoredVector& v) {
                    if (dim == 0) dim = static_cast<int>(v.v.size());
                    auto e = es.entry_at(model->id, *space, v.seq);
                    vectors.append(reinterpret_cast<const char*>(v.v.data()), v.v.size() * sizeof(float));
                    append(keys, source);
                    append(keys, clip);
                    append(keys, e ? e->start_us / 1e6 : 0.0);
                    append(keys, e ? e->end_us / 1e6 : 0.0);
                    ++n;
                    return true;
                  });
  const std::string stem = out.substr(0, out.size() - 4);
  write_npy(out, "'<f4'", "(" + std::to_string(n) + ", " + std::to_string(dim) + ")", vectors);
  write_npy(stem + ".keys.npy", "[('source', '<u8'), ('clip', '<u8'), ('start', '<f8'), ('end', '<f8')]",
            "(" + std::to_string(n) + ",)", keys);
  nlohmann::json sources = nlohmann::json::object();
  for (const auto& s : store.sources()) sources[storage::hex_id(s.source_id)] = s.uri;
  std::ofstream(stem + ".sources.json") << sources.dump(1) << "\n";
  std::fprintf(stderr, "%llu %s vectors of %d dimensions (model %s) -> %s, %s.keys.npy, %s.sources.json\n",
               static_cast<unsigned long long>(n), storage::space_name(*space), dim,
               storage::hex_id(model->id).c_str(), out.c_str(), stem.c_str(), stem.c_str());
  return 0;
}

}  // namespace

int cmd_export(const Args& args) {
  po::options_description opts("vatt export options");
  std::string db, model, space = "video_vt";
  std::vector<std::string> files;
  opts.add_options()("embeddings", "export a store's embeddings (with --db) instead of a checkpoint")(
      "db", po::value(&db), "database folder (with --embeddings)")(
      "model", po::value(&model), "model id or prefix (default: the store's latest)")(
      "space", po::value(&space)->default_value("video_vt"),
      "video_va, audio_va, video_vt, text_vt, video_feature, audio_feature, video_vt_mean, ...");
  po::options_description hidden;
  hidden.add_options()("file", po::value(&files));
  po::positional_options_description pos;
  pos.add("file", -1);
  po::variables_map vm;
  if (auto rc = parse_args(args,
                           "usage: vatt export CHECKPOINT OUT.safetensors\n"
                           "       vatt export --embeddings --db DIR [--model ID] [--space S] OUT.npy\n"
                           "Writes a checkpoint's weights for PyTorch (safetensors), or a store's embeddings "
                           "for numpy.",
                           opts, pos, vm, hidden))
    return *rc;
  try {
    if (vm.count("embeddings")) {
      if (db.empty() || files.size() != 1) {
        std::fprintf(stderr, "vatt: usage: vatt export --embeddings --db DIR OUT.npy\n");
        return 2;
      }
      return export_embeddings(db, model, space, files[0]);
    }
    if (files.size() != 2) {
      std::fprintf(stderr, "vatt: usage: vatt export CHECKPOINT OUT.safetensors\n");
      return 2;
    }
    std::error_code ec;
    if (!std::filesystem::exists(files[0], ec)) {
      std::fprintf(stderr, "vatt: checkpoint %s does not exist\n", files[0].c_str());
      return 2;
    }
    std::map<std::string, std::string> meta;
    const std::string blob = model::checkpoint_user_blob(files[0]);
    if (!blob.empty()) {
      try {
        const auto j = nlohmann::json::parse(blob);
        if (j.contains("vocab")) meta["vatt.vocab"] = j["vocab"].get<std::string>();
        if (j.contains("input")) meta["vatt.input"] = j["input"].dump();
      } catch (const std::exception&) {
        // Not train_vatt's blob: the weights and the config still export.
      }
    }
    const std::string read = model::export_safetensors(files[0], files[1], meta);
    std::fprintf(stderr, "%s -> %s (config%s%s in the metadata)\n", read.c_str(), files[1].c_str(),
                 meta.count("vatt.vocab") ? ", vocabulary" : "", meta.count("vatt.input") ? ", input" : "");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vatt: %s\n", e.what());
    return 1;
  }
  return 0;
}

}  // namespace vatt::cli
