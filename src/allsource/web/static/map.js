/* Map: the shipped Natural Earth countries drawn as SVG in an equirectangular projection,
   and the places of /map/data as circles sized by their document count. Names go in with
   textContent only; no inline script anywhere (the page's CSP forbids it). */
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var W = 960, H = 480;
  var box = document.getElementById("map");
  if (!box) { return; }
  var status = document.getElementById("map-status");
  var list = document.getElementById("places");

  function el(name, attrs) {
    var node = document.createElementNS(NS, name);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, String(attrs[k])); });
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

  function query() {
    var parts = [];
    ["entity", "topic", "source"].forEach(function (k) {
      var v = box.getAttribute("data-" + k);
      if (v) { parts.push(k + "=" + encodeURIComponent(v)); }
    });
    return parts.length ? "?" + parts.join("&") : "";
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

  function draw(world, places) {
    var svg = el("svg", {viewBox: "0 0 " + W + " " + H, width: "100%", role: "img",
                         "aria-label": "World map of the mentioned places (listed below)",
                         "class": "map-svg drawn"});
    svg.appendChild(el("rect", {x: 0, y: 0, width: W, height: H, "class": "sea"}));
    var land = el("g", {"class": "land"});
    world.features.forEach(function (f) {
      var p = el("path", {d: pathOf(f.geometry), "class": "country"});
      var tip = el("title");
      tip.textContent = String((f.properties || {}).name || "");
      p.appendChild(tip);
      land.appendChild(p);
    });
    svg.appendChild(land);
    var dots = el("g", {"class": "places"});
    var features = places.features || [];
    var most = features.reduce(function (m, f) { return Math.max(m, f.properties.documents); }, 1);
    while (list.firstChild) { list.removeChild(list.firstChild); }
    features.forEach(function (f) {
      var c = f.geometry.coordinates, props = f.properties;
      var dot = el("circle", {cx: x(c[0]).toFixed(1), cy: y(c[1]).toFixed(1),
                              r: (3 + 12 * Math.sqrt(props.documents / most)).toFixed(1),
                              "class": "place", "data-id": props.id});
      var tip = el("title");
      tip.textContent = props.name + " \u00b7 " + props.documents + " document(s)";
      dot.appendChild(tip);
      dots.appendChild(dot);
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.setAttribute("href", "/objects/" + encodeURIComponent(props.id));
      a.textContent = props.name;
      var meta = document.createElement("span");
      meta.className = "meta";
      meta.textContent = " " + props.documents + " document(s)";
      li.appendChild(a);
      li.appendChild(meta);
      list.appendChild(li);
    });
    svg.appendChild(dots);
    while (box.firstChild) { box.removeChild(box.firstChild); }
    box.appendChild(svg);
    status.textContent = features.length + " place(s)" +
      (places.properties && places.properties.truncated ? " (truncated)" : "");
  }

  status.textContent = "Loading\u2026";
  Promise.all([json("/static/basemap/countries-110m.geojson"), json("/map/data" + query())])
    .then(function (both) { draw(both[0], both[1]); })
    .catch(function (err) { status.textContent = "Could not load the map: " + err.message; });
})();
