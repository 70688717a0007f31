/* Graph explorer: fetches /graph/<id>/data and draws the neighbourhood as SVG in a radial
   layout (centre in the middle, first-hop nodes on a ring, ordered by type). Clicking an
   object re-centres on it. All text goes in with textContent: names are never parsed as
   markup. No inline script anywhere (the page's CSP forbids it). */
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var W = 900, H = 640, R = 250;
  var box = document.getElementById("graph");
  if (!box) { return; }
  var status = document.getElementById("graph-status");
  var title = document.getElementById("graph-title");
  var filters = {
    since: box.getAttribute("data-since") || "",
    until: box.getAttribute("data-until") || "",
    min_credibility: box.getAttribute("data-min-credibility") || ""
  };

  function el(name, attrs) {
    var node = document.createElementNS(NS, name);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, String(attrs[k])); });
    return node;
  }

  function query() {
    var parts = [];
    Object.keys(filters).forEach(function (k) {
      if (filters[k]) { parts.push(encodeURIComponent(k) + "=" + encodeURIComponent(filters[k])); }
    });
    return parts.length ? "?" + parts.join("&") : "";
  }

  function short(text, n) {
    text = String(text || "");
    return text.length > n ? text.slice(0, n - 1) + "\u2026" : text;
  }

  function layout(view) {
    var pos = {};
    var others = view.nodes.filter(function (n) { return n.id !== view.center; });
    others.sort(function (a, b) {
      return (a.distance - b.distance) || (a.type < b.type ? -1 : a.type > b.type ? 1 : 0) ||
        (b.degree - a.degree);
    });
    pos[view.center] = [W / 2, H / 2];
    others.forEach(function (n, i) {
      var angle = (2 * Math.PI * i) / Math.max(1, others.length) - Math.PI / 2;
      var r = R * (n.distance >= 2 ? 1.2 : 1) * (others.length > 24 && i % 2 ? 0.78 : 1);
      pos[n.id] = [W / 2 + r * Math.cos(angle), H / 2 + r * Math.sin(angle)];
    });
    return pos;
  }

  function draw(view) {
    var pos = layout(view);
    var svg = el("svg", {viewBox: "0 0 " + W + " " + H, width: "100%", role: "img",
                         "class": "graph-svg drawn", "data-center": view.center});
    var edges = el("g", {"class": "edges"});
    view.edges.forEach(function (e) {
      var a = pos[e.source], b = pos[e.target];
      if (!a || !b) { return; }
      var line = el("line", {x1: a[0], y1: a[1], x2: b[0], y2: b[1],
                             "stroke-width": Math.min(6, 1 + Math.log(e.weight || 1)),
                             "class": "edge"});
      var tip = el("title");
      tip.textContent = e.type + (e.weight > 1 ? " \u00d7 " + e.weight : "");
      line.appendChild(tip);
      edges.appendChild(line);
    });
    svg.appendChild(edges);
    var nodes = el("g", {"class": "nodes"});
    view.nodes.forEach(function (n) {
      var p = pos[n.id];
      var cluster = n.kind === "cluster";
      var isCenter = n.id === view.center;
      var g = el("g", {"class": "node t-" + String(n.type).replace(/[^a-z0-9-]/gi, "") +
                        (cluster ? " cluster" : " object") + (isCenter ? " center" : ""),
                       "data-id": n.id, transform: "translate(" + p[0] + "," + p[1] + ")"});
      var radius = cluster ? Math.min(28, 9 + 4 * Math.sqrt(n.count)) : (isCenter ? 14 : 9);
      g.appendChild(el("circle", {r: radius}));
      var label = el("text", {y: radius + 13, "text-anchor": "middle"});
      label.textContent = cluster ? short(n.label, 28) + " (" + n.count + ")" : short(n.label, 28);
      g.appendChild(label);
      if (cluster) {
        var count = el("text", {y: 4, "text-anchor": "middle", "class": "count"});
        count.textContent = String(n.count);
        g.appendChild(count);
      }
      var tip = el("title");
      tip.textContent = n.label + " \u00b7 " + n.type + (cluster ? " \u00b7 " + n.count + " objects" : "");
      g.appendChild(tip);
      if (!cluster && !isCenter) {
        g.setAttribute("tabindex", "0");
        g.addEventListener("click", function () { load(n.id, n.label); });
        g.addEventListener("keydown", function (ev) {
          if (ev.key === "Enter") { load(n.id, n.label); }
        });
      }
      nodes.appendChild(g);
    });
    svg.appendChild(nodes);
    while (box.firstChild) { box.removeChild(box.firstChild); }
    box.appendChild(svg);
    var summary = view.nodes.length + " node(s), " + view.edges.length + " edge(s)";
    if (view.summarised) { summary += " \u00b7 summarised"; }
    status.textContent = summary;
  }

  function load(center, label) {
    status.textContent = "Loading\u2026";
    fetch("/graph/" + encodeURIComponent(center) + "/data" + query(),
          {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) {
        return r.json().then(function (body) { return {ok: r.ok, body: body}; });
      })
      .then(function (res) {
        if (!res.ok) { status.textContent = String(res.body.error || "failed"); return; }
        draw(res.body);
        box.setAttribute("data-center", res.body.center);
        if (label !== null) {
          title.textContent = label;
          title.setAttribute("href", "/objects/" + encodeURIComponent(res.body.center));
          var form = document.getElementById("graph-filters");
          if (form) { form.setAttribute("action", "/graph/" + encodeURIComponent(res.body.center)); }
          history.replaceState(null, "", "/graph/" + encodeURIComponent(res.body.center) + query());
        }
      })
      .catch(function () { status.textContent = "Could not load the graph."; });
  }

  load(box.getAttribute("data-center"), null);
})();
