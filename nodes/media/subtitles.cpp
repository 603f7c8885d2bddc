// SubRip/WebVTT parsing (a small strict parser: errors name the file and line) and clip-window text
// alignment.
#include "nodes/media/subtitles.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace vatt::nodes {

namespace {

/// Offset of the first byte that is not part of valid UTF-8, or npos.
size_t invalid_utf8_at(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (n == 0 || i + n > s.size()) return i;
    for (size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return i;
    i += n;
  }
  return std::string_view::npos;
}

std::string trim(std::string_view s) {
  size_t a = 0, b = s.size();
  while (a < b && std::isspace(static_cast<unsigned char>(s[a]))) ++a;
  while (b > a && std::isspace(static_cast<unsigned char>(s[b - 1]))) --b;
  return std::string(s.substr(a, b - a));
}

/// "HH:MM:SS,mmm", "HH:MM:SS.mmm" or "MM:SS.mmm" to microseconds; -1 if malformed.
int64_t parse_time(const std::string& t) {
  std::vector<int64_t> parts;
  int64_t frac = -1;
  size_t i = 0;
  while (i < t.size()) {
    size_t j = i;
    while (j < t.size() && std::isdigit(static_cast<unsigned char>(t[j]))) ++j;
    if (j == i) return -1;
    const int64_t v = std::stoll(t.substr(i, j - i));
    if (j == t.size()) {
      parts.push_back(v);
      break;
    }
    if (t[j] == ':') {
      parts.push_back(v);
      i = j + 1;
      continue;
    }
    if (t[j] != ',' && t[j] != '.') return -1;
    parts.push_back(v);
    const std::string f = t.substr(j + 1);
    if (f.size() != 3 ||
        !std::all_of(f.begin(), f.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
      return -1;
    frac = std::stoll(f);
    break;
  }
  if (frac < 0 || parts.size() < 2 || parts.size() > 3) return -1;
  int64_t h = parts.size() == 3 ? parts[0] : 0, m = parts[parts.size() - 2], s = parts.back();
  if (m > 59 || s > 59) return -1;
  return ((h * 60 + m) * 60 + s) * 1000000 + frac * 1000;
}

/// Removes <...> and {...} markup and collapses whitespace.
std::string clean_text(const std::string& s) {
  std::string out;
  int angle = 0, brace = 0;
  for (char c : s) {
    if (c == '<') ++angle;
    if (c == '{') ++brace;
    if (!angle && !brace) out += std::isspace(static_cast<unsigned char>(c)) ? ' ' : c;
    if (c == '>' && angle) --angle;
    if (c == '}' && brace) --brace;
  }
  std::string collapsed;
  for (char c : out) {
    if (c == ' ' && (collapsed.empty() || collapsed.back() == ' ')) continue;
    collapsed += c;
  }
  return trim(collapsed);
}

std::vector<std::string> split_words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> w;
  for (std::string x; in >> x;) w.push_back(x);
  return w;
}

}  // namespace

std::vector<TextSegment> parse_subtitles(std::string_view content, const std::string& name) {
  if (const size_t bad = invalid_utf8_at(content); bad != std::string_view::npos) {
    const auto line =
        1 + std::count(content.begin(), content.begin() + static_cast<std::ptrdiff_t>(bad), '\n');
    throw SubtitleError(name + ":" + std::to_string(line) + ": not valid UTF-8 (byte offset " +
                        std::to_string(bad) + "); subtitles must be UTF-8");
  }
  if (content.substr(0, 3) == "\xEF\xBB\xBF") content.remove_prefix(3);
  std::vector<std::string> lines;
  {
    std::string cur;
    for (char c : content) {
      if (c == '\n') {
        if (!cur.empty() && cur.back() == '\r') cur.pop_back();
        lines.push_back(cur);
        cur.clear();
      } else {
        cur += c;
      }
    }
    if (!cur.empty()) lines.push_back(cur);
  }
  const bool vtt = name.size() >= 4 && name.compare(name.size() - 4, 4, ".vtt") == 0;
  size_t i = 0;
  if (vtt) {
    if (lines.empty() || lines[0].rfind("WEBVTT", 0) != 0)
      throw SubtitleError(name + ":1: expected the 'WEBVTT' header of a WebVTT file");
    i = 1;
  }
  std::vector<TextSegment> out;
  while (i < lines.size()) {
    if (trim(lines[i]).empty()) {
      ++i;
      continue;
    }
    // A block: optional identifier line (SRT index, VTT cue id), then the timing line, then text lines.
    size_t t = i;
    if (lines[t].find("-->") == std::string::npos) {
      if (vtt && (lines[t].rfind("NOTE", 0) == 0 || lines[t].rfind("STYLE", 0) == 0 ||
                  lines[t].rfind("REGION", 0) == 0)) {
        while (i < lines.size() && !trim(lines[i]).empty()) ++i;
        continue;
      }
      ++t;
    }
    if (t >= lines.size() || lines[t].find("-->") == std::string::npos)
      throw SubtitleError(name + ":" + std::to_string(t + 1) +
                          ": expected a time line 'HH:MM:SS,mmm --> HH:MM:SS,mmm'");
    const std::string& tl = lines[t];
    const size_t arrow = tl.find("-->");
    const std::string a = trim(tl.substr(0, arrow));
    std::string b = trim(tl.substr(arrow + 3));
    if (const size_t sp = b.find_first_of(" \t"); sp != std::string::npos)
      b = b.substr(0, sp);  // VTT settings
    const int64_t s = parse_time(a), e = parse_time(b);
    if (s < 0 || e < 0)
      throw SubtitleError(name + ":" + std::to_string(t + 1) + ": malformed time '" + (s < 0 ? a : b) +
                          "', expected HH:MM:SS" + (vtt ? "." : ",") + "mmm");
    if (e < s)
      throw SubtitleError(name + ":" + std::to_string(t + 1) + ": cue ends (" + b + ") before it starts (" +
                          a + ")");
    std::string text;
    for (i = t + 1; i < lines.size() && !trim(lines[i]).empty(); ++i) text += lines[i] + " ";
    text = clean_text(text);
    if (!text.empty()) out.push_back({s, e, text});
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const TextSegment& x, const TextSegment& y) { return x.start_us < y.start_us; });
  return out;
}

std::vector<TextSegment> load_subtitles(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw SubtitleError(path + ": cannot be read");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_subtitles(ss.str(), path);
}

std::string find_subtitles(const std::string& media_path) {
  namespace fs = std::filesystem;
  for (const char* ext : {".srt", ".vtt"}) {
    fs::path p = media_path;
    p.replace_extension(ext);
    std::error_code ec;
    if (fs::is_regular_file(p, ec)) return p.string();
  }
  return "";
}

int64_t gap_us(const TextSegment& s, int64_t start_us, int64_t end_us) {
  return std::max<int64_t>({0, s.start_us - end_us, start_us - s.end_us});
}

std::vector<size_t> nearest_first(const std::vector<TextSegment>& segments, int64_t start_us, int64_t end_us,
                                  const std::function<bool(size_t)>& skip) {
  std::vector<size_t> order;
  for (size_t k = 0; k < segments.size(); ++k)
    if (!skip || !skip(k)) order.push_back(k);
  std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) {
    const auto gx = gap_us(segments[x], start_us, end_us), gy = gap_us(segments[y], start_us, end_us);
    return gx != gy ? gx < gy : segments[x].start_us < segments[y].start_us;
  });
  return order;
}

std::vector<TextSegment> align_text(const std::vector<TextSegment>& segments, int64_t start_us,
                                    int64_t end_us, int candidates) {
  TextSegment own;
  own.start_us = end_us;
  own.end_us = start_us;
  std::vector<bool> used(segments.size(), false);
  for (size_t k = 0; k < segments.size(); ++k) {
    const auto& seg = segments[k];
    if (seg.end_us <= start_us || seg.start_us >= end_us) continue;
    const auto words = split_words(seg.text);
    const int64_t span = std::max<int64_t>(seg.end_us - seg.start_us, 1);
    const auto n = static_cast<int64_t>(words.size());
    for (int64_t w = 0; w < n; ++w) {
      const int64_t ws = seg.start_us + span * w / n, we = seg.start_us + span * (w + 1) / n;
      if (we <= start_us || ws >= end_us) continue;
      own.text += (own.text.empty() ? "" : " ") + words[static_cast<size_t>(w)];
      own.start_us = std::min(own.start_us, ws);
      own.end_us = std::max(own.end_us, we);
      used[k] = true;
    }
  }
  if (own.text.empty()) return {};
  const auto rest = nearest_first(segments, start_us, end_us, [&](size_t k) { return used[k]; });
  std::vector<TextSegment> out{own};
  for (size_t k : rest) {
    if (static_cast<int>(out.size()) >= candidates) break;
    out.push_back(segments[k]);
  }
  return out;
}

}  // namespace vatt::nodes
