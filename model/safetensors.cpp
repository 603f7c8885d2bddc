// safetensors writer and reader with a small JSON parser of its own (model/ depends on LibTorch alone).
#include "model/safetensors.h"

#include <fcntl.h>
#include <unistd.h>

#include <sys/stat.h>
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <optional>
#include <set>
#include <stdexcept>
#include <vector>

#include "model/checkpoint.h"

namespace vatt::model {
namespace {

static_assert(sizeof(void*) == 8, "64-bit only");

// The format is little-endian; LibTorch tensors are in host order, so a big-endian host would need swaps.
bool host_is_little_endian() {
  const uint16_t one = 1;
  uint8_t first;
  std::memcpy(&first, &one, 1);
  return first == 1;
}

struct DtypeName {
  torch::Dtype dtype;
  const char* name;
};
constexpr DtypeName kDtypes[] = {
    {torch::kFloat64, "F64"}, {torch::kFloat32, "F32"}, {torch::kFloat16, "F16"}, {torch::kBFloat16, "BF16"},
    {torch::kInt64, "I64"},   {torch::kInt32, "I32"},   {torch::kInt16, "I16"},   {torch::kInt8, "I8"},
    {torch::kUInt8, "U8"},    {torch::kBool, "BOOL"},
};

const char* dtype_name(torch::Dtype d) {
  for (const auto& e : kDtypes)
    if (e.dtype == d) return e.name;
  throw std::runtime_error(std::string("safetensors: unsupported dtype ") + c10::toString(d));
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

// A JSON value, just enough for safetensors headers: objects, arrays, strings, integers.
struct Json {
  enum class Kind { kNull, kNumber, kString, kArray, kObject, kBool } kind = Kind::kNull;
  int64_t number = 0;
  std::string text;
  std::vector<Json> items;
  std::vector<std::pair<std::string, Json>> members;

  const Json* find(const std::string& key) const {
    for (const auto& m : members)
      if (m.first == key) return &m.second;
    return nullptr;
  }
};

class JsonParser {
 public:
  explicit JsonParser(const std::string& s) : s_(s) {}
  Json parse() {
    Json v = value();
    ws();
    if (pos_ != s_.size()) fail("trailing characters");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& what) {
    throw std::runtime_error("JSON header: " + what + " at byte " + std::to_string(pos_));
  }
  void ws() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  bool eat(char c) {
    ws();
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  void expect(char c) {
    if (!eat(c)) fail(std::string("expected '") + c + "'");
  }
  std::string string() {
    expect('"');
    std::string out;
    while (pos_ < s_.size() && s_[pos_] != '"') {
      char c = s_[pos_++];
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= s_.size()) fail("bad escape");
      char e = s_[pos_++];
      switch (e) {
        case 'n':
          out += '\n';
          break;
        case 't':
          out += '\t';
          break;
        case 'r':
          out += '\r';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'u': {
          if (pos_ + 4 > s_.size()) fail("bad \\u escape");
          const unsigned code = std::stoul(s_.substr(pos_, 4), nullptr, 16);
          pos_ += 4;
          if (code < 0x80) {
            out += static_cast<char>(code);
          } else if (code < 0x800) {
            out += static_cast<char>(0xC0 | (code >> 6));
            out += static_cast<char>(0x80 | (code & 0x3F));
          } else {
            out += static_cast<char>(0xE0 | (code >> 12));
            out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (code & 0x3F));
          }
          break;
        }
        default:
          out += e;  // \" \\ \/
      }
    }
    if (pos_ >= s_.size()) fail("unterminated string");
    ++pos_;
    return out;
  }
  Json value() {
    ws();
    if (pos_ >= s_.size()) fail("unexpected end");
    Json v;
    const char c = s_[pos_];
    if (c == '{') {
      ++pos_;
      v.kind = Json::Kind::kObject;
      if (eat('}')) return v;
      do {
        std::string key = string();
        expect(':');
        v.members.emplace_back(std::move(key), value());
      } while (eat(','));
      expect('}');
    } else if (c == '[') {
      ++pos_;
      v.kind = Json::Kind::kArray;
      if (eat(']')) return v;
      do v.items.push_back(value());
      while (eat(','));
      expect(']');
    } else if (c == '"') {
      v.kind = Json::Kind::kString;
      v.text = string();
    } else if (c == '-' || std::isdigit(static_cast<unsigned char>(c))) {
      size_t end = pos_ + 1;
      while (end < s_.size() && std::isdigit(static_cast<unsigned char>(s_[end]))) ++end;
      v.kind = Json::Kind::kNumber;
      v.number = std::stoll(s_.substr(pos_, end - pos_));
      pos_ = end;
    } else if (s_.compare(pos_, 4, "true") == 0 || s_.compare(pos_, 5, "false") == 0) {
      v.kind = Json::Kind::kBool;
      v.number = s_[pos_] == 't';
      pos_ += v.number ? 4 : 5;
    } else if (s_.compare(pos_, 4, "null") == 0) {
      pos_ += 4;
    } else {
      fail("unexpected character");
    }
    return v;
  }

  const std::string& s_;
  size_t pos_ = 0;
};

std::vector<std::pair<std::string, torch::Tensor>> named_tensors(const VattImpl& model) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& p : model.named_parameters()) out.emplace_back(p.key(), p.value());
  for (const auto& b : model.named_buffers()) out.emplace_back(b.key(), b.value());
  return out;
}

}  // namespace

void save_safetensors(const std::string& path, const VattImpl& model,
                      const std::map<std::string, std::string>& metadata) {
  if (!host_is_little_endian()) throw std::runtime_error("safetensors: big-endian hosts are not supported");
  torch::NoGradGuard no_grad;
  auto tensors = named_tensors(model);
  for (auto& [name, t] : tensors) t = t.detach().to(torch::kCPU).contiguous();
  // Widest element first keeps every tensor naturally aligned without holes (as safetensors' own writer).
  std::stable_sort(tensors.begin(), tensors.end(), [](const auto& a, const auto& b) {
    if (a.second.element_size() != b.second.element_size())
      return a.second.element_size() > b.second.element_size();
    return a.first < b.first;
  });

  std::string header = "{\"__metadata__\":{\"format\":\"pt\",\"vatt.format\":\"1\",\"vatt.config\":" +
                       json_string(config_to_text(model.config()));
  for (const auto& [k, v] : metadata)
    if (k != "format" && k != "vatt.format" && k != "vatt.config")
      header += "," + json_string(k) + ":" + json_string(v);
  header += "}";
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    const uint64_t bytes = static_cast<uint64_t>(t.numel()) * t.element_size();
    header += "," + json_string(name) + ":{\"dtype\":\"" + dtype_name(t.scalar_type()) + "\",\"shape\":[";
    for (int64_t d = 0; d < t.dim(); ++d) header += (d ? "," : "") + std::to_string(t.size(d));
    header += "],\"data_offsets\":[" + std::to_string(offset) + "," + std::to_string(offset + bytes) + "]}";
    offset += bytes;
  }
  header += "}";
  while ((8 + header.size()) % 8 != 0) header += ' ';  // data starts 8-byte aligned

  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error("safetensors: cannot create " + tmp);
    uint64_t n = header.size();
    uint8_t len[8];
    for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>(n >> (8 * i));
    out.write(reinterpret_cast<const char*>(len), 8);
    out.write(header.data(), static_cast<std::streamsize>(header.size()));
    for (const auto& [name, t] : tensors)
      out.write(static_cast<const char*>(t.data_ptr()),
                static_cast<std::streamsize>(t.numel() * t.element_size()));
    out.flush();
    if (!out) throw std::runtime_error("safetensors: cannot write " + tmp);
  }
  const int fd = ::open(tmp.c_str(), O_RDONLY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw std::runtime_error("safetensors: cannot rename " + tmp + " to " + path + ": " + std::strerror(err));
  }
}

std::map<std::string, torch::Tensor> read_safetensors(const std::string& path,
                                                      std::map<std::string, std::string>* metadata) {
  if (!host_is_little_endian()) throw std::runtime_error("safetensors: big-endian hosts are not supported");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("safetensors: cannot open " + path);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw std::runtime_error("safetensors: cannot stat " + path);
  const auto file_size = static_cast<uint64_t>(st.st_size);
  uint8_t len[8];
  if (!in.read(reinterpret_cast<char*>(len), 8))
    throw std::runtime_error("safetensors: " + path + " is empty");
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(len[i]) << (8 * i);
  if (n > file_size - 8) throw std::runtime_error("safetensors: " + path + ": header length beyond the file");
  std::string header(n, '\0');
  in.read(header.data(), static_cast<std::streamsize>(n));
  const uint64_t data_start = 8 + n, data_size = file_size - data_start;

  Json root;
  try {
    root = JsonParser(header).parse();
  } catch (const std::exception& e) {
    throw std::runtime_error("safetensors: " + path + ": " + e.what());
  }
  if (root.kind != Json::Kind::kObject)
    throw std::runtime_error("safetensors: " + path + ": header not an object");
  std::map<std::string, torch::Tensor> out;
  for (const auto& [name, entry] : root.members) {
    if (name == "__metadata__") {
      if (metadata)
        for (const auto& [k, v] : entry.members) (*metadata)[k] = v.text;
      continue;
    }
    auto bad = [&](const std::string& what) {
      return std::runtime_error("safetensors: " + path + ": tensor '" + name + "': " + what);
    };
    const Json* dt = entry.find("dtype");
    const Json* shape = entry.find("shape");
    const Json* offs = entry.find("data_offsets");
    if (!dt || !shape || !offs || offs->items.size() != 2) throw bad("needs dtype, shape and data_offsets");
    std::optional<torch::Dtype> dtype;
    for (const auto& e : kDtypes)
      if (dt->text == e.name) dtype = e.dtype;
    if (!dtype) throw bad("unsupported dtype " + dt->text);
    std::vector<int64_t> sizes;
    for (const auto& d : shape->items) sizes.push_back(d.number);
    const uint64_t begin = static_cast<uint64_t>(offs->items[0].number);
    const uint64_t end = static_cast<uint64_t>(offs->items[1].number);
    auto t = torch::empty(sizes, torch::TensorOptions().dtype(*dtype));
    const uint64_t bytes = static_cast<uint64_t>(t.numel()) * t.element_size();
    if (end < begin || end > data_size || end - begin != bytes)
      throw bad("data_offsets do not match the shape");
    in.seekg(static_cast<std::streamoff>(data_start + begin));
    if (bytes && !in.read(static_cast<char*>(t.data_ptr()), static_cast<std::streamsize>(bytes)))
      throw bad("cannot read its data");
    out.emplace(name, t);
  }
  return out;
}

ModelConfig read_safetensors_config(const std::string& path) {
  std::map<std::string, std::string> meta;
  read_safetensors(path, &meta);
  auto it = meta.find("vatt.config");
  if (it == meta.end()) throw std::runtime_error("safetensors: " + path + ": no vatt.config in __metadata__");
  try {
    return config_from_text(it->second);
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error("safetensors: " + path + ": bad vatt.config: " + e.what());
  }
}

void load_safetensors(const std::string& path, VattImpl& model) {
  load_safetensors(read_safetensors(path), model, path);
}

void load_safetensors(const std::map<std::string, torch::Tensor>& file, VattImpl& model,
                      const std::string& path) {
  auto tensors = named_tensors(model);
  std::vector<std::string> problems;
  std::set<std::string> expected;
  for (const auto& [name, t] : tensors) {
    expected.insert(name);
    auto it = file.find(name);
    if (it == file.end())
      problems.push_back("missing tensor '" + name + "'");
    else if (it->second.sizes() != t.sizes())
      problems.push_back("tensor '" + name + "' has shape " + c10::str(it->second.sizes()) +
                         ", the model expects " + c10::str(t.sizes()));
  }
  for (const auto& [name, t] : file)
    if (!expected.count(name)) problems.push_back("unexpected tensor '" + name + "'");
  if (!problems.empty()) {
    std::string msg = "safetensors: " + path + ":";
    for (const auto& p : problems) msg += " " + p + ";";
    msg.pop_back();
    throw std::runtime_error(msg);
  }
  torch::NoGradGuard no_grad;
  for (auto& [name, t] : tensors) t.copy_(file.at(name));
}

}  // namespace vatt::model
