#pragma once
// Where the text labels of an SVG chart lie, estimated from the markup alone, so that a test can
// say whether two of them overlap or one runs outside the picture.
//
// A label's box: from its anchor point (x, y, or the translate() of its transform), along the
// baseline for the sum of its characters' advances x font-size, placed by text-anchor; across
// it from 0.8 em above the baseline to 0.25 em below; turned by the transform's rotate(). The
// advances are upper bounds for the sans-serif fonts a browser picks for "system-ui,
// sans-serif" (DejaVu Sans, the widest common one: lowercase and digits at most 0.64 em but for
// m and w, capitals at most 0.8 em but for M and W, which reach 0.99 em); html_report_test
// checks them against the boxes headless Chromium measures.
#include <cmath>
#include <cstdlib>
#include <regex>
#include <string>
#include <vector>

namespace greenbench::testing {

inline double glyph_em(unsigned char ch) {
  if (ch == 'm' || ch == 'w' || ch == 'M' || ch == 'W' || ch == '@' || ch == '%') return 1.0;
  if ((ch >= 'A' && ch <= 'Z') || ch == '&' || ch >= 0x80) return 0.8;
  return 0.64;
}

struct TextBox {
  std::string text;
  double font_size = 0;
  bool sized = false;     ///< the element has its own font-size attribute
  double ax = 0, ay = 0;  ///< anchor point in SVG coordinates
  double angle_deg = 0;   ///< rotation about the anchor point
  double x0 = 0, x1 = 0;  ///< extent along the baseline, relative to the anchor
  double y0 = 0, y1 = 0;  ///< extent across it (y down), relative to the anchor
  std::vector<std::pair<double, double>> corners() const {
    const double a = angle_deg * M_PI / 180.0, c = std::cos(a), s = std::sin(a);
    std::vector<std::pair<double, double>> out;
    for (auto [u, v] : {std::pair{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}}) {
      out.emplace_back(ax + u * c - v * s, ay + u * s + v * c);
    }
    return out;
  }
};

// Characters as a reader sees them: entities count once, UTF-8 code points once.
inline std::size_t visible_length(const std::string& markup) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < markup.size(); ++i) {
    const unsigned char ch = static_cast<unsigned char>(markup[i]);
    if (ch == '&') {
      const auto semi = markup.find(';', i);
      if (semi != std::string::npos && semi - i <= 8) i = semi;
      ++n;
    } else if ((ch & 0xC0) != 0x80) {
      ++n;
    }
  }
  return n;
}

// The width in em the label may take: the sum of its characters' bounds (an entity counts as
// '&', the widest of what it may stand for here).
inline double width_em(const std::string& markup) {
  double em = 0;
  for (std::size_t i = 0; i < markup.size(); ++i) {
    const unsigned char ch = static_cast<unsigned char>(markup[i]);
    if (ch == '&') {
      const auto semi = markup.find(';', i);
      if (semi != std::string::npos && semi - i <= 8) i = semi;
      em += glyph_em('&');
    } else if ((ch & 0xC0) != 0x80) {
      em += glyph_em(ch);
    }
  }
  return em;
}

inline std::string attribute(const std::string& attrs, const std::string& name) {
  const std::regex re("(?:^|\\s)" + name + "=\"([^\"]*)\"");
  std::smatch m;
  return std::regex_search(attrs, m, re) ? m[1].str() : "";
}

/// Every <text> element of `svg` with its estimated box. A text without a font-size attribute
/// gets the size the report's style sheet once gave its class (sized = false: a test should
/// reject it, its size then depends on a style sheet).
inline std::vector<TextBox> text_boxes(const std::string& svg) {
  std::vector<TextBox> out;
  const std::regex text_re("<text([^>]*)>([\\s\\S]*?)</text>");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), text_re);
       it != std::sregex_iterator(); ++it) {
    const std::string attrs = (*it)[1].str();
    std::string content = (*it)[2].str();
    // A <title> inside a text is a tooltip, not drawn.
    content = std::regex_replace(content, std::regex("<title>[\\s\\S]*?</title>"), "");
    content = std::regex_replace(content, std::regex("<[^>]*>"), "");
    TextBox b;
    b.text = content;
    const std::string fs = attribute(attrs, "font-size");
    b.font_size = fs.empty() ? 0 : std::atof(fs.c_str());
    b.sized = !fs.empty();
    if (!b.sized) b.font_size = attribute(attrs, "class") == "tick" ? 10 : 11;  // the old CSS
    b.ax = std::atof(attribute(attrs, "x").c_str());
    b.ay = std::atof(attribute(attrs, "y").c_str());
    const std::string transform = attribute(attrs, "transform");
    std::smatch m;
    if (std::regex_search(transform, m,
                          std::regex("translate\\(\\s*([-0-9.eE]+)[ ,]+([-0-9.eE]+)\\s*\\)"))) {
      b.ax += std::atof(m[1].str().c_str());
      b.ay += std::atof(m[2].str().c_str());
    }
    if (std::regex_search(transform, m, std::regex("rotate\\(\\s*([-0-9.eE]+)"))) {
      b.angle_deg = std::atof(m[1].str().c_str());
    }
    const double width = width_em(content) * b.font_size;
    const std::string anchor = attribute(attrs, "text-anchor");
    if (anchor == "middle") {
      b.x0 = -width / 2;
    } else if (anchor == "end") {
      b.x0 = -width;
    } else {
      b.x0 = 0;
    }
    b.x1 = b.x0 + width;
    b.y0 = -0.8 * b.font_size;
    b.y1 = 0.25 * b.font_size;
    out.push_back(b);
  }
  return out;
}

/// True when the two (possibly rotated) boxes share any area (separating axis theorem).
inline bool overlap(const TextBox& a, const TextBox& b) {
  const auto ca = a.corners(), cb = b.corners();
  for (const auto* poly : {&ca, &cb}) {
    for (std::size_t i = 0; i < 4; ++i) {
      const auto [x1, y1] = (*poly)[i];
      const auto [x2, y2] = (*poly)[(i + 1) % 4];
      const double nx = y1 - y2, ny = x2 - x1;  // normal of the edge
      double amin = HUGE_VAL, amax = -HUGE_VAL, bmin = HUGE_VAL, bmax = -HUGE_VAL;
      for (auto [x, y] : ca) {
        amin = std::min(amin, x * nx + y * ny);
        amax = std::max(amax, x * nx + y * ny);
      }
      for (auto [x, y] : cb) {
        bmin = std::min(bmin, x * nx + y * ny);
        bmax = std::max(bmax, x * nx + y * ny);
      }
      // Touching edges are not an overlap; a rounding sliver is not either.
      const double slack = 1e-6 * std::max(1.0, std::hypot(nx, ny));
      if (amax <= bmin + slack || bmax <= amin + slack) return false;
    }
  }
  return true;
}

/// The width and height of the SVG's viewBox.
inline std::pair<double, double> view_box(const std::string& svg) {
  std::smatch m;
  if (!std::regex_search(
          svg, m, std::regex("viewBox=\"\\s*[-0-9.]+\\s+[-0-9.]+\\s+([-0-9.]+)\\s+([-0-9.]+)"))) {
    return {0, 0};
  }
  return {std::atof(m[1].str().c_str()), std::atof(m[2].str().c_str())};
}

/// Problems of the labels of one SVG: pairs that overlap, labels that run outside the viewBox,
/// labels without an explicit font size. Empty when the labels are all readable.
inline std::vector<std::string> label_problems(const std::string& svg) {
  std::vector<std::string> out;
  const auto boxes = text_boxes(svg);
  const auto [w, h] = view_box(svg);
  for (std::size_t i = 0; i < boxes.size(); ++i) {
    const auto& a = boxes[i];
    if (!a.sized) out.push_back("no font-size: '" + a.text + "'");
    for (const auto& [x, y] : a.corners()) {
      if (x < -0.5 || y < -0.5 || x > w + 0.5 || y > h + 0.5) {
        out.push_back("outside the picture: '" + a.text + "'");
        break;
      }
    }
    for (std::size_t j = i + 1; j < boxes.size(); ++j) {
      if (overlap(a, boxes[j]))
        out.push_back("overlap: '" + a.text + "' and '" + boxes[j].text + "'");
    }
  }
  return out;
}

}  // namespace greenbench::testing
