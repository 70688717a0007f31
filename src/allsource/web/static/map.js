/* Map: the shipped Natural Earth countries drawn as SVG in an equirectangular projection,
   shaded by how many matching documents mention a place in each country, and the places of
   /map/data as circles sized by their document count. Countries with documents link to
   their timeline, places to their page; both are keyboard-reachable links with names.
   Zoom and pan change the SVG viewBox (buttons, wheel, drag); dots keep their screen size.
   Names go in with textContent only; no inline script or style anywhere (the page's CSP
   forbids both: shading is by class). */
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var W = 960, H = 480, CLASSES = 5, MAX_ZOOM = 32;
  var box = document.getElementById("map");
  if (!box) { return; }
  var status = document.getElementById("map-status");
  var list = document.getElementById("places");
  var clist = document.getElementById("countries");
  var legend = document.getElementById("map-legend");
  var query = box.getAttribute("data-query") || "";
  var svg = null, view = {x: 0, y: 0, w: W, h: H}, dots = [];

  function el(name, attrs) {
    var node = document.createElementNS(NS, name);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, String(attrs[k])); });
    return node;
  }
  function html(name, text, cls) {
    var node = document.createElement(name);
    if (text !== undefined) { node.textContent = text; }
    if (cls) { node.className = cls; }
    return node;
  }
  function x(lon) { return ((lon + 180) / 360) * W; }
  function y(lat) { return ((90 - lat) / 180) * H; }
  function ring(points) {
    return points.map(function (p, i) {
      return (i ? "L" : "M") + x(p[0]).toFixed(1) + " " + y(p[1]).toFixed(1);
    }).join("") + "Z";
  }
  function pathOf(geometry) {
    if (!geometry) { return ""; }
    var polys = geometry.type === "Polygon" ? [geometry.coordinates] :
      geometry.type === "MultiPolygon" ? geometry.coordinates : [];
    return polys.map(function (poly) { return poly.map(ring).join(""); }).join("");
  }
  function json(url) {
    return fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) {
        return r.json().then(function (body) {
          if (!r.ok) { throw new Error(String(body.error || "failed")); }
          return body;
        });
      });
  }
  function plural(n) { return n.toLocaleString() + " document" + (n === 1 ? "" : "s"); }
  function link(href, label) {
    var a = el("a", {href: href, "aria-label": label});
    var tip = el("title");
    tip.textContent = label;
    a.appendChild(tip);
    return a;
  }
  function withQuery(path, extra) {
    var params = new URLSearchParams(query);
    Object.keys(extra).forEach(function (k) { params.set(k, extra[k]); });
    return path + "?" + params.toString();
  }

  /* Upper bounds of up to CLASSES classes on a log scale (counts span orders of magnitude:
     one country, many), distinct and ending at the largest count. */
  function breaks(most) {
    var out = [];
    for (var i = 1; i <= CLASSES; i++) {
      var edge = Math.min(most, Math.max(1, Math.round(Math.pow(most, i / CLASSES))));
      if (!out.length || edge > out[out.length - 1]) { out.push(edge); }
    }
    if (out[out.length - 1] !== most) { out.push(most); }
    return out;
  }
  /* the colour class of a count: with fewer classes than colours, the darkest ones */
  function classOf(n, edges) {
    var i = 0;
    while (i < edges.length - 1 && n > edges[i]) { i++; }
    return CLASSES - edges.length + i;
  }

  function drawLegend(edges) {
    while (legend.firstChild) { legend.removeChild(legend.firstChild); }
    var lo = 1;
    edges.forEach(function (hi) {
      var item = html("span", "", "key");
      item.appendChild(html("span", "", "swatch c" + classOf(hi, edges)));
      item.appendChild(html("span", lo === hi ? String(lo) : lo + "–" + hi));
      legend.appendChild(item);
      lo = hi + 1;
    });
  }

  function setView(v) {
    var w = Math.max(W / MAX_ZOOM, Math.min(W, v.w)), h = w * H / W;
    view = {x: Math.max(0, Math.min(W - w, v.x)), y: Math.max(0, Math.min(H - h, v.y)),
            w: w, h: h};
    svg.setAttribute("viewBox", [view.x, view.y, view.w, view.h].map(function (n) {
      return n.toFixed(2);
    }).join(" "));
    var scale = view.w / W;
    dots.forEach(function (d) { d.node.setAttribute("r", (d.r * scale).toFixed(2)); });
    svg.classList.toggle("zoomed", scale < 1);
  }
  function zoom(factor, cx, cy) {
    if (cx === undefined) { cx = view.x + view.w / 2; cy = view.y + view.h / 2; }
    var w = view.w / factor, h = view.h / factor;
    setView({x: cx - (cx - view.x) * (w / view.w), y: cy - (cy - view.y) * (h / view.h),
             w: w, h: h});
  }
  function toMap(evt) {
    var r = svg.getBoundingClientRect();
    return {x: view.x + (evt.clientX - r.left) / r.width * view.w,
            y: view.y + (evt.clientY - r.top) / r.height * view.h};
  }

  function interact() {
    var drag = null, moved = false;
    svg.addEventListener("wheel", function (evt) {
      evt.preventDefault();
      var p = toMap(evt);
      zoom(evt.deltaY < 0 ? 1.25 : 0.8, p.x, p.y);
    }, {passive: false});
    svg.addEventListener("pointerdown", function (evt) {
      drag = {x: evt.clientX, y: evt.clientY, view: view};
      moved = false;
    });
    window.addEventListener("pointermove", function (evt) {
      if (!drag) { return; }
      var r = svg.getBoundingClientRect();
      var dx = evt.clientX - drag.x, dy = evt.clientY - drag.y;
      if (Math.abs(dx) + Math.abs(dy) > 3) { moved = true; }
      if (moved) {
        setView({x: drag.view.x - dx / r.width * drag.view.w,
                 y: drag.view.y - dy / r.height * drag.view.h, w: drag.view.w, h: drag.view.h});
      }
    });
    window.addEventListener("pointerup", function () { drag = null; });
    /* a drag that ends on a link is a pan, not a visit */
    svg.addEventListener("click", function (evt) {
      if (moved) { evt.preventDefault(); moved = false; }
    }, true);
    document.getElementById("map-zoom-in").addEventListener("click", function () { zoom(2); });
    document.getElementById("map-zoom-out").addEventListener("click", function () { zoom(0.5); });
    document.getElementById("map-reset").addEventListener("click", function () {
      setView({x: 0, y: 0, w: W, h: H});
    });
  }

  function draw(world, places) {
    var props = places.properties || {};
    var counted = props.countries || [];
    var byIso3 = {};
    counted.forEach(function (c) { if (c.iso3) { byIso3[c.iso3] = c; } });
    var most = counted.reduce(function (m, c) { return Math.max(m, c.documents); }, 1);
    var edges = breaks(most);
    svg = el("svg", {viewBox: "0 0 " + W + " " + H, width: "100%", role: "group",
                     "aria-label": "World map of the matching documents",
                     "class": "map-svg drawn"});
    svg.appendChild(el("rect", {x: -W, y: -H, width: 3 * W, height: 3 * H, "class": "sea"}));
    var land = el("g", {"class": "land"});
    world.features.forEach(function (f) {
      var name = String((f.properties || {}).name || "");
      var found = byIso3[(f.properties || {}).iso_a3];
      var path = el("path", {d: pathOf(f.geometry),
                             "class": "country" + (found ? " c" + classOf(found.documents, edges) : "")});
      if (found) {
        var a = link(withQuery("/timeline", {country: found.country}),
                     found.name + ": " + plural(found.documents));
        a.appendChild(path);
        land.appendChild(a);
      } else {
        var tip = el("title");
        tip.textContent = name;
        path.appendChild(tip);
        land.appendChild(path);
      }
    });
    svg.appendChild(land);
    var layer = el("g", {"class": "places"});
    var features = places.features || [];
    var top = features.reduce(function (m, f) { return Math.max(m, f.properties.documents); }, 1);
    dots = [];
    while (list.firstChild) { list.removeChild(list.firstChild); }
    features.forEach(function (f) {
      var c = f.geometry.coordinates, p = f.properties;
      var r = 2.5 + 9 * Math.sqrt(p.documents / top);
      var dot = el("circle", {cx: x(c[0]).toFixed(2), cy: y(c[1]).toFixed(2), r: r.toFixed(2),
                              "class": "place", "data-id": p.id});
      var a = link("/objects/" + encodeURIComponent(p.id), p.name + ": " + plural(p.documents));
      a.appendChild(dot);
      layer.appendChild(a);
      dots.push({node: dot, r: r});
      var li = document.createElement("li");
      var item = html("a", p.name);
      item.setAttribute("href", "/objects/" + encodeURIComponent(p.id));
      li.appendChild(item);
      li.appendChild(html("span", " " + plural(p.documents), "meta"));
      list.appendChild(li);
    });
    svg.appendChild(layer);
    while (clist.firstChild) { clist.removeChild(clist.firstChild); }
    counted.forEach(function (c) {
      var li = document.createElement("li");
      var item = html("a", c.name);
      item.setAttribute("href", withQuery("/timeline", {country: c.country}));
      li.appendChild(item);
      li.appendChild(html("span", " " + plural(c.documents), "meta"));
      clist.appendChild(li);
    });
    while (box.firstChild) { box.removeChild(box.firstChild); }
    box.appendChild(svg);
    drawLegend(edges);
    interact();
    document.getElementById("places-count").textContent = String(features.length) +
      (props.truncated ? ", the most mentioned" : "");
    document.getElementById("countries-count").textContent = String(counted.length);
    status.textContent = features.length + " place(s) in " + counted.length + " countr" +
      (counted.length === 1 ? "y" : "ies") + (props.truncated ? " (places truncated)" : "");
  }

  status.textContent = "Loading\u2026";
  Promise.all([json("/static/basemap/countries-110m.geojson"),
               json("/map/data" + (query ? "?" + query : ""))])
    .then(function (both) { draw(both[0], both[1]); })
    .catch(function (err) { status.textContent = "Could not load the map: " + err.message; });
})();
