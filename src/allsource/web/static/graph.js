/* Graph explorer, drawn with Cytoscape.js (static/vendor, see its README).

   Data: /graph/<id>/data returns a neighbourhood summarised server-side (at most the page's
   node budget; the rest in clusters, one per type). Double-click or Enter on a node adds its
   neighbours in place; "Show more" on a cluster adds its next page of members
   (/graph/<owner>/data?cluster=<type>&offset=n). Cluster ids are namespaced by the node
   whose neighbourhood they summarise, since every answer numbers its clusters from 0.

   History: the URL holds the centre, the filters and the ordered list of steps taken
   (open=n:<id> for an expansion, open=c:<owner>|<type> for a page of a cluster). Each step
   is a pushState; Back (popstate) rebuilds the view by replaying the steps of that URL.

   Accessibility: the canvas is one focusable region (arrow keys pan, +/- zoom, 0 fits);
   every node and relationship is also a row of the tables under it, kept in step with the
   drawing — selecting a row selects the node and the reverse — so everything the drawing
   offers can be reached and operated by keyboard and read by a screen reader.

   Exports: PNG (cy.png), SVG (a small serialiser of the drawn positions, below) and a STIX
   2.1 bundle of the selection, built by the server from what the reader may read.
   All text goes in with textContent or canvas text: names are never parsed as markup.
   No inline script or style anywhere (the page's CSP forbids both). */
(function () {
  "use strict";
  var box = document.getElementById("graph");
  if (!box || typeof window.cytoscape !== "function") { return; }
  var status = document.getElementById("graph-status");
  var title = document.getElementById("graph-title");
  var nodeRows = document.querySelector("#graph-nodes tbody");
  var edgeRows = document.querySelector("#graph-edges tbody");
  var legendList = document.getElementById("graph-legend-items");
  var selectedBox = document.getElementById("graph-selected");
  var pageSize = parseInt(box.getAttribute("data-page"), 10) || 40;
  var filters = {
    since: box.getAttribute("data-since") || "",
    until: box.getAttribute("data-until") || "",
    min_credibility: box.getAttribute("data-min-credibility") || ""
  };

  /* Colour and shape per STIX type; the legend is built from this table. Colours keep a
     3:1 contrast with the white background (WCAG 1.4.11). */
  var TYPES = {
    "intrusion-set": ["Intrusion set", "#b71c1c", "diamond"],
    "threat-actor": ["Threat actor", "#ad1457", "star"],
    "campaign": ["Campaign", "#c43e00", "hexagon"],
    "malware": ["Malware", "#6a1b9a", "octagon"],
    "tool": ["Tool", "#4527a0", "round-rectangle"],
    "attack-pattern": ["Technique", "#1565c0", "triangle"],
    "vulnerability": ["Vulnerability", "#8d6e00", "vee"],
    "identity": ["Identity", "#2e7d32", "ellipse"],
    "location": ["Location", "#00796b", "tag"],
    "indicator": ["Indicator", "#4e342e", "rhomboid"],
    "course-of-action": ["Course of action", "#33691e", "pentagon"],
    "report": ["Report", "#455a64", "rectangle"],
    "ipv4-addr": ["IPv4 address", "#37474f", "round-rectangle"],
    "ipv6-addr": ["IPv6 address", "#37474f", "round-rectangle"],
    "domain-name": ["Domain", "#5d4037", "round-rectangle"],
    "url": ["URL", "#01579b", "round-rectangle"],
    "email-addr": ["E-mail address", "#6d4c41", "round-rectangle"],
    "file": ["File", "#424242", "rectangle"],
    "mixed": ["Mixed types", "#616161", "ellipse"]
  };
  var OTHER = ["Other", "#616161", "ellipse"];
  var SLOT = 122;  // px of width per node label (text-max-width plus a gap)
  var ROW = 66;    // px between rows of the block layout
  function kind(type) { return TYPES[type] || OTHER; }

  /* Cytoscape adds a <style> to the page unless one with this id exists; the CSP would
     refuse it, and workspace.css already positions the container. */
  if (!document.getElementById("__________cytoscape_stylesheet")) {
    var mark = document.createElement("meta");
    mark.id = "__________cytoscape_stylesheet";
    document.head.appendChild(mark);
  }

  var cy = window.cytoscape({
    container: box,
    minZoom: 0.1,
    maxZoom: 4,
    boxSelectionEnabled: true,
    selectionType: "additive",
    style: [
      {selector: "node", style: {
        "background-color": "data(colour)", "shape": "data(shape)",
        "width": "data(size)", "height": "data(size)",
        "label": "data(short)", "font-size": 11, "color": "#1b1f24",
        "text-valign": "bottom", "text-margin-y": 4, "text-wrap": "ellipsis",
        "text-max-width": "110px", "text-background-color": "#ffffff",
        "text-background-opacity": 0.85, "text-background-padding": "1px",
        "min-zoomed-font-size": 5, "border-width": 2, "border-color": "#ffffff"}},
      {selector: "node.center", style: {"border-width": 4, "border-color": "#14263d",
                                         "font-weight": "bold", "font-size": 13,
                                         "text-max-width": "260px"}},
      {selector: "node.cluster", style: {"border-width": 6, "border-style": "double",
                                          "border-color": "#1b1f24",
                                          "background-opacity": 0.75}},
      {selector: "node.expanded", style: {"border-color": "#14263d", "border-width": 3}},
      {selector: "node:selected", style: {"overlay-color": "#f9a825",
                                           "overlay-opacity": 0.35, "overlay-padding": 6}},
      {selector: "node.filtered, edge.filtered", style: {"display": "none"}},
      {selector: "edge", style: {
        "width": "data(width)", "line-color": "#8b97a3", "curve-style": "bezier",
        "target-arrow-shape": "triangle", "target-arrow-color": "#8b97a3",
        "arrow-scale": 0.8, "font-size": 9, "color": "#3d4650",
        // the type is written near the target end: edges fan out from a node, and their
        // midpoints crowd near it while their ends are spread out
        "target-label": "data(label)", "target-text-offset": 34,
        "target-text-rotation": "autorotate", "source-text-offset": 34,
        "source-text-rotation": "autorotate", "text-background-color": "#ffffff",
        "text-background-opacity": 0.9, "text-background-padding": "1px",
        "min-zoomed-font-size": 6}},
      {selector: "edge[far = 'source']", style: {"target-label": "",
                                                  "source-label": "data(label)"}},
      {selector: "edge:selected", style: {"line-color": "#f9a825",
                                           "target-arrow-color": "#f9a825"}}
    ]
  });

  var hiddenTypes = {};
  var steps = [];      // the steps of the current view, as in the URL

  function say(text) { status.textContent = text; }

  function short(text, n) {
    text = String(text || "");
    return text.length > n ? text.slice(0, n - 1) + "\u2026" : text;
  }

  function filterQuery(extra) {
    var q = new URLSearchParams();
    Object.keys(filters).forEach(function (k) { if (filters[k]) { q.set(k, filters[k]); } });
    Object.keys(extra || {}).forEach(function (k) { q.set(k, extra[k]); });
    var s = q.toString();
    return s ? "?" + s : "";
  }

  function pageUrl(center, list) {
    var q = new URLSearchParams(filterQuery().slice(1));
    list.forEach(function (s) { q.append("open", s); });
    var s = q.toString();
    return "/graph/" + encodeURIComponent(center) + (s ? "?" + s : "");
  }

  function getJSON(url) {
    say("Loading\u2026");
    return fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) {
        return r.json().then(function (body) {
          if (!r.ok) { throw new Error(String(body.error || "failed")); }
          return body;
        });
      });
  }

  /* --- adding data ------------------------------------------------------------------- */
  function clusterId(owner, type) { return "cl|" + owner + "|" + type; }

  function nodeData(n, owner) {
    var k = kind(n.type);
    var cluster = n.kind === "cluster";
    var id = cluster ? clusterId(owner, n.type) : n.id;
    var label = cluster ? "+" + n.count + " " + kind(n.type)[0].toLowerCase() :
      (n.label || n.id);
    return {
      id: id, label: label, short: short(label, 32), type: n.type, colour: k[1],
      shape: k[2], kind: cluster ? "cluster" : "object", owner: owner,
      count: n.count || 1, degree: n.degree || 0, offset: 0,
      left: cluster ? n.count : 0,
      size: cluster ? Math.min(46, 26 + 3 * Math.sqrt(n.count)) :
        Math.min(40, 20 + 3 * Math.sqrt(n.degree || 0))
    };
  }

  /* Adds a server view (nodes and edges) around ``owner``; returns the new nodes. */
  function merge(view, owner) {
    var map = {};
    var added = cy.collection();
    var origin = cy.getElementById(owner);
    var at = origin.nonempty() ? origin.position() : {x: 0, y: 0};
    var fresh = view.nodes.filter(function (n) {
      var d = nodeData(n, owner);
      map[n.id] = d.id;
      return cy.getElementById(d.id).empty();
    });
    // new nodes go in a block of rows under everything drawn, centred below the node they
    // were reached from: one SLOT-wide cell per label, so nothing lands on what is there
    var bb = cy.nodes().boundingBox({includeLabels: true});
    var top = cy.nodes().empty() ? 0 : bb.y2 + 70;
    var cols = Math.max(4, Math.min(fresh.length, Math.floor(Math.max(bb.w, 600) / SLOT)));
    fresh.forEach(function (n, i) {
      var row = Math.floor(i / cols), col = i % cols;
      var inRow = Math.min(cols, fresh.length - row * cols);
      var el = cy.add({group: "nodes", data: nodeData(n, owner),
                       position: {x: at.x + (col - (inRow - 1) / 2) * SLOT,
                                  y: top + row * ROW}});
      added = added.union(el);
    });
    view.edges.forEach(function (e) {
      var s = map[e.source] || e.source, t = map[e.target] || e.target;
      var id = "e|" + s + "|" + e.type + "|" + t;
      if (cy.getElementById(id).nonempty() || cy.getElementById(s).empty() ||
          cy.getElementById(t).empty()) { return; }
      cy.add({group: "edges", data: {
        id: id, source: s, target: t, type: e.type, weight: e.weight,
        far: t === owner ? "source" : "target",
        label: e.type + (e.weight > 1 ? " \u00d7" + e.weight : ""),
        width: Math.min(6, 1 + Math.log(e.weight || 1))}});
    });
    return added;
  }

  /* The first view: the centre above a block of its neighbours in rows, ordered by type
     then degree (Maltego's "block" layout). Every label gets a SLOT-wide cell, so none
     overlaps another, and the edge labels, half-way along edges fanning out from the
     centre, land on a grid half as dense. Columns follow the canvas's shape. */
  function blockLayout(center) {
    var others = cy.nodes().not(center).sort(function (a, b) {
      return (a.data("kind") === "cluster") - (b.data("kind") === "cluster") ||
        (a.data("type") < b.data("type") ? -1 : a.data("type") > b.data("type") ? 1 : 0) ||
        (b.data("degree") - a.data("degree")) || (a.data("label") < b.data("label") ? -1 : 1);
    });
    var n = others.length;
    var w = Math.max(300, box.clientWidth), h = Math.max(300, box.clientHeight);
    var cols = Math.max(3, Math.floor((w - 40) / SLOT));
    var rows = Math.ceil(n / cols);
    // more columns when the rows would overflow the height: zooming out beats scrolling
    while (rows > 1 && ROW * rows + 130 > h * (cols * SLOT + 40) / w) {
      cols += 1;
      rows = Math.ceil(n / cols);
    }
    center.position({x: 0, y: 0});
    others.forEach(function (node, i) {
      var row = Math.floor(i / cols), col = i % cols;
      var inRow = Math.min(cols, n - row * cols);
      node.position({x: (col - (inRow - 1) / 2) * SLOT, y: 110 + row * ROW});
    });
    cy.fit(undefined, 24);
    if (cy.zoom() > 1.3) { cy.zoom(1.3); cy.center(); }
  }

  function arrange(fresh, fit) {
    if (fit) {
      cy.layout({name: "cose", animate: false, randomize: false, fit: true, padding: 24,
                 nodeDimensionsIncludeLabels: true,
                 idealEdgeLength: function () { return 120; },
                 nodeRepulsion: function () { return 12000; },
                 nodeOverlap: 20, componentSpacing: 80, numIter: 1500}).run();
    } else if (fresh.nonempty()) {
      cy.animate({fit: {eles: fresh.closedNeighborhood(), padding: 40}, duration: 200});
    }
  }

  /* --- the steps --------------------------------------------------------------------- */
  function loadCenter(center) {
    return getJSON("/graph/" + encodeURIComponent(center) + "/data" + filterQuery())
      .then(function (view) {
        cy.elements().remove();
        var fresh = merge(view, view.center);
        var c = cy.getElementById(view.center);
        c.addClass("center expanded");
        c.position({x: 0, y: 0});
        var others = fresh.not(c);
        blockLayout(c);
        box.setAttribute("data-center", view.center);
        title.textContent = c.data("label");
        title.setAttribute("href", "/objects/" + encodeURIComponent(view.center));
        var form = document.getElementById("graph-filters");
        if (form) { form.setAttribute("action", "/graph/" + encodeURIComponent(view.center)); }
        document.title = "Graph \u00b7 " + c.data("label") + " \u00b7 allsource";
        return others.length;
      });
  }

  function expandNode(id) {
    var node = cy.getElementById(id);
    return getJSON("/graph/" + encodeURIComponent(id) + "/data" + filterQuery())
      .then(function (view) {
        var fresh = merge(view, id);
        node.addClass("expanded");
        arrange(fresh, false);
        return fresh.length;
      });
  }

  function moreOf(owner, type) {
    var cl = cy.getElementById(clusterId(owner, type));
    var offset = cl.nonempty() ? cl.data("offset") : 0;
    return getJSON("/graph/" + encodeURIComponent(owner) + "/data" +
                   filterQuery({cluster: type, offset: String(offset)}))
      .then(function (view) {
        var fresh = merge(view, owner);
        if (cl.nonempty()) {
          var left = view.summary.left;
          cl.data("offset", offset + view.summary.returned);
          if (left <= 0) { cl.remove(); } else {
            cl.data("left", left);
            cl.data("label", "+" + left + " " + kind(type)[0].toLowerCase());
            cl.data("short", cl.data("label"));
          }
        }
        arrange(fresh, false);
        return fresh.length;
      });
  }

  function runStep(step) {
    if (step.slice(0, 2) === "n:") { return expandNode(step.slice(2)); }
    var parts = step.slice(2).split("|");
    return moreOf(parts[0], parts[1]);
  }

  function afterChange(what) {
    refreshLists();
    var objects = cy.nodes("[kind = 'object']").length;
    var clusters = cy.nodes("[kind = 'cluster']").length;
    say((what ? what + " " : "") + objects + " object(s), " + clusters + " cluster(s), " +
        cy.edges().length + " relationship(s) shown.");
  }

  /* Rebuilds the view of a URL: the centre, then each step in order. */
  function busy(on) { box.setAttribute("aria-busy", on ? "true" : "false"); }

  function show(center, list) {
    steps = [];
    busy(true);
    return loadCenter(center).then(function () {
      return list.reduce(function (p, step) {
        return p.then(function () { return runStep(step); })
          .then(function () { steps.push(step); });
      }, Promise.resolve());
    }).then(function () { afterChange(""); })
      .catch(function (err) { say("Could not load the graph: " + err.message); })
      .then(function () { busy(false); });
  }

  function take(step, what) {
    busy(true);
    return runStep(step).then(function (n) {
      steps.push(step);
      history.pushState({center: box.getAttribute("data-center"), steps: steps.slice()}, "",
                        pageUrl(box.getAttribute("data-center"), steps));
      afterChange(what + " added " + n + ";");
    }).catch(function (err) { say("Could not expand: " + err.message); })
      .then(function () { busy(false); });
  }

  function expand(id) {
    var n = cy.getElementById(id);
    if (n.empty()) { return; }
    if (n.data("kind") === "cluster") {
      take("c:" + n.data("owner") + "|" + n.data("type"), "Show more:");
    } else if (!n.hasClass("expanded")) {
      take("n:" + id, "Expand:");
    } else {
      say(n.data("label") + " is already expanded.");
    }
  }

  function recentre(id) {
    var label = cy.getElementById(id).data("label");
    history.pushState({center: id, steps: []}, "", pageUrl(id, []));
    show(id, []).then(function () { say("Centred on " + label + ". " + status.textContent); });
  }

  /* --- the tables, the legend, the selection ----------------------------------------- */
  function cell(row, text) {
    var td = document.createElement("td");
    if (text !== undefined) { td.textContent = text; }
    row.appendChild(td);
    return td;
  }

  function button(text, label, onclick) {
    var b = document.createElement("button");
    b.type = "button";
    b.textContent = text;
    if (label) { b.setAttribute("aria-label", label); }
    b.addEventListener("click", onclick);
    return b;
  }

  function link(text, href, label) {
    var a = document.createElement("a");
    a.textContent = text;
    a.href = href;
    if (label) { a.setAttribute("aria-label", label); }
    return a;
  }

  function swatch(type) {
    var s = document.createElement("span");
    s.className = "swatch shape-" + kind(type)[2];
    s.style.backgroundColor = kind(type)[1];
    s.setAttribute("aria-hidden", "true");
    return s;
  }

  function typeName(n) {
    return kind(n.data("type"))[0] + (n.data("kind") === "cluster" ? " (cluster)" : "");
  }

  function refreshLists() {
    var nodes = cy.nodes().sort(function (a, b) {
      return (b.hasClass("center") - a.hasClass("center")) ||
        (a.data("kind") < b.data("kind") ? 1 : a.data("kind") > b.data("kind") ? -1 : 0) ||
        (b.degree() - a.degree()) || (a.data("label") < b.data("label") ? -1 : 1);
    });
    nodeRows.textContent = "";
    nodes.forEach(function (n) {
      var tr = document.createElement("tr");
      var id = n.id(), label = n.data("label");
      tr.setAttribute("data-id", id);
      tr.setAttribute("data-kind", n.data("kind"));
      if (n.hasClass("filtered")) { tr.hidden = true; }
      var sel = document.createElement("input");
      sel.type = "checkbox";
      sel.checked = n.selected();
      sel.setAttribute("aria-label", "Select " + label);
      sel.disabled = n.data("kind") === "cluster";
      sel.addEventListener("change", function () {
        if (sel.checked) { n.select(); } else { n.unselect(); }
      });
      cell(tr).appendChild(sel);
      var name = cell(tr);
      name.className = "name";
      var focus = button(label, null, function () {
        cy.nodes().unselect();
        n.select();
        cy.animate({center: {eles: n}, duration: 150});
      });
      focus.className = "node-name";
      focus.setAttribute("aria-describedby", "graph-nodes-hint");
      name.appendChild(swatch(n.data("type")));
      name.appendChild(focus);
      if (n.hasClass("center")) { name.appendChild(document.createTextNode(" (centre)")); }
      cell(tr, typeName(n));
      cell(tr, n.data("kind") === "cluster" ? n.data("left") + " objects" :
        String(n.degree(false)));
      var act = cell(tr);
      act.className = "actions";
      if (n.data("kind") === "cluster") {
        act.appendChild(button("Show more", "Show " + Math.min(pageSize, n.data("left")) +
                               " more of " + label, function () { expand(id); }));
      } else {
        if (!n.hasClass("expanded")) {
          act.appendChild(button("Expand", "Expand " + label, function () { expand(id); }));
        }
        if (!n.hasClass("center")) {
          act.appendChild(button("Centre", "Centre the graph on " + label,
                                 function () { recentre(id); }));
        }
        act.appendChild(link("Overview", "/objects/" + encodeURIComponent(id),
                             "Overview of " + label));
      }
      nodeRows.appendChild(tr);
    });
    edgeRows.textContent = "";
    cy.edges().forEach(function (e) {
      var tr = document.createElement("tr");
      tr.setAttribute("data-id", e.id());
      if (e.hasClass("filtered")) { tr.hidden = true; }
      cell(tr, e.source().data("label"));
      cell(tr, e.data("type"));
      cell(tr, e.target().data("label"));
      cell(tr, String(e.data("weight")));
      edgeRows.appendChild(tr);
    });
    refreshLegend();
  }

  function refreshLegend() {
    var present = {};
    cy.nodes().forEach(function (n) { present[n.data("type")] = true; });
    legendList.textContent = "";
    Object.keys(present).sort().forEach(function (type) {
      var li = document.createElement("li");
      var label = document.createElement("label");
      var box2 = document.createElement("input");
      box2.type = "checkbox";
      box2.checked = !hiddenTypes[type];
      box2.setAttribute("data-type", type);
      box2.addEventListener("change", function () {
        hiddenTypes[type] = !box2.checked;
        applyTypeFilter();
      });
      label.appendChild(box2);
      label.appendChild(swatch(type));
      label.appendChild(document.createTextNode(kind(type)[0] + " (" +
        cy.nodes().filter(function (n) { return n.data("type") === type; }).length + ")"));
      li.appendChild(label);
      legendList.appendChild(li);
    });
  }

  function applyTypeFilter() {
    cy.batch(function () {
      cy.nodes().forEach(function (n) {
        var hide = !!hiddenTypes[n.data("type")] && !n.hasClass("center");
        n.toggleClass("filtered", hide);
        if (hide) { n.unselect(); }
      });
      cy.edges().forEach(function (e) {
        e.toggleClass("filtered", e.source().hasClass("filtered") ||
                      e.target().hasClass("filtered"));
      });
    });
    refreshLists();
  }

  function showSelected() {
    var chosen = cy.nodes(":selected");
    Array.prototype.forEach.call(nodeRows.querySelectorAll("tr"), function (tr) {
      var n = cy.getElementById(tr.getAttribute("data-id"));
      var on = n.nonempty() && n.selected();
      tr.classList.toggle("selected", on);
      var c = tr.querySelector("input[type=checkbox]");
      if (c) { c.checked = on; }
    });
    Array.prototype.slice.call(selectedBox.children, 1).forEach(function (el) { el.remove(); });
    if (chosen.empty()) {
      var p = document.createElement("p");
      p.className = "meta";
      p.textContent = "Nothing selected.";
      selectedBox.appendChild(p);
      return;
    }
    if (chosen.length > 1) {
      var many = document.createElement("p");
      many.textContent = chosen.length + " nodes selected (STIX export takes these).";
      selectedBox.appendChild(many);
      return;
    }
    var n = chosen[0];
    var dl = document.createElement("dl");
    dl.className = "meta";
    [["Name", n.data("label")], ["Type", typeName(n)],
     ["Relationships shown", String(n.degree(false))]].forEach(function (pair) {
      var dt = document.createElement("dt");
      dt.textContent = pair[0];
      var dd = document.createElement("dd");
      dd.textContent = pair[1];
      dl.appendChild(dt);
      dl.appendChild(dd);
    });
    selectedBox.appendChild(dl);
    var actions = document.createElement("p");
    if (n.data("kind") === "cluster") {
      actions.appendChild(button("Show more", null, function () { expand(n.id()); }));
    } else {
      if (!n.hasClass("expanded")) {
        actions.appendChild(button("Expand", null, function () { expand(n.id()); }));
      }
      if (!n.hasClass("center")) {
        actions.appendChild(button("Centre here", null, function () { recentre(n.id()); }));
      }
      actions.appendChild(link("Open overview", "/objects/" + encodeURIComponent(n.id())));
    }
    selectedBox.appendChild(actions);
  }

  cy.on("select unselect", "node", function () {
    window.clearTimeout(showSelected.timer);
    showSelected.timer = window.setTimeout(showSelected, 0);
  });
  cy.on("dbltap", "node", function (ev) { expand(ev.target.id()); });

  /* --- keyboard on the canvas -------------------------------------------------------- */
  box.addEventListener("keydown", function (ev) {
    var step = 60, handled = true;
    switch (ev.key) {
      case "ArrowLeft": cy.panBy({x: step, y: 0}); break;
      case "ArrowRight": cy.panBy({x: -step, y: 0}); break;
      case "ArrowUp": cy.panBy({x: 0, y: step}); break;
      case "ArrowDown": cy.panBy({x: 0, y: -step}); break;
      case "+": case "=": zoomBy(1.25); break;
      case "-": case "_": zoomBy(0.8); break;
      case "0": cy.fit(undefined, 30); break;
      default: handled = false;
    }
    if (handled) { ev.preventDefault(); }
  });

  function zoomBy(f) {
    cy.zoom({level: cy.zoom() * f,
             renderedPosition: {x: box.clientWidth / 2, y: box.clientHeight / 2}});
  }

  function on(id, fn) {
    var el = document.getElementById(id);
    if (el) { el.addEventListener("click", fn); }
  }
  on("graph-zoom-in", function () { zoomBy(1.25); });
  on("graph-zoom-out", function () { zoomBy(0.8); });
  on("graph-fit", function () { cy.fit(undefined, 30); });
  on("graph-relayout", function () { arrange(cy.collection(), true); });

  /* --- exports ----------------------------------------------------------------------- */
  function download(blob, name) {
    var url = URL.createObjectURL(blob);
    var a = document.createElement("a");
    a.href = url;
    a.download = name;
    document.body.appendChild(a);
    a.click();
    a.remove();
    window.setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
  }

  function fileName(ext) {
    return "graph-" + String(box.getAttribute("data-center")).replace(/[^a-z0-9-]/gi, "_")
      .slice(0, 60) + "." + ext;
  }

  on("graph-export-png", function () {
    download(cy.png({output: "blob", bg: "#ffffff", full: true, scale: 2}), fileName("png"));
    say("PNG exported.");
  });

  function xml(text) {
    return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;");
  }

  function svgShape(n) {
    var p = n.position(), r = n.data("size") / 2, shape = n.data("shape");
    var fill = ' fill="' + xml(n.data("colour")) + '" stroke="' +
      (n.data("kind") === "cluster" ? "#1b1f24" : "#ffffff") + '" stroke-width="2"';
    var pts = {diamond: [[0, -1], [1, 0], [0, 1], [-1, 0]],
               triangle: [[0, -1], [1, 0.8], [-1, 0.8]],
               hexagon: [[-1, 0], [-0.5, -0.87], [0.5, -0.87], [1, 0], [0.5, 0.87], [-0.5, 0.87]],
               pentagon: [[0, -1], [0.95, -0.31], [0.59, 0.81], [-0.59, 0.81], [-0.95, -0.31]],
               octagon: [[-0.41, -1], [0.41, -1], [1, -0.41], [1, 0.41], [0.41, 1], [-0.41, 1],
                         [-1, 0.41], [-1, -0.41]],
               vee: [[-1, -1], [0, -0.33], [1, -1], [0, 1]],
               rhomboid: [[-1, -1], [0.6, -1], [1, 1], [-0.6, 1]],
               star: [[0, -1], [0.22, -0.31], [0.95, -0.31], [0.36, 0.12], [0.59, 0.81],
                      [0, 0.38], [-0.59, 0.81], [-0.36, 0.12], [-0.95, -0.31], [-0.22, -0.31]],
               tag: [[-1, -1], [0.5, -1], [1, 0], [0.5, 1], [-1, 1]]}[shape];
    if (pts) {
      return '<polygon points="' + pts.map(function (q) {
        return (p.x + q[0] * r).toFixed(1) + "," + (p.y + q[1] * r).toFixed(1);
      }).join(" ") + '"' + fill + "/>";
    }
    if (shape === "ellipse") {
      return '<circle cx="' + p.x.toFixed(1) + '" cy="' + p.y.toFixed(1) + '" r="' +
        r.toFixed(1) + '"' + fill + "/>";
    }
    return '<rect x="' + (p.x - r).toFixed(1) + '" y="' + (p.y - r).toFixed(1) +
      '" width="' + (2 * r).toFixed(1) + '" height="' + (2 * r).toFixed(1) + '"' +
      (shape === "round-rectangle" ? ' rx="' + (r / 3).toFixed(1) + '"' : "") + fill + "/>";
  }

  /* The drawing as a standalone SVG document: what is shown, where it is drawn. */
  function toSvg() {
    var shown = cy.elements().not(".filtered");
    var bb = shown.boundingBox({includeLabels: true});
    var pad = 20;
    var out = ['<?xml version="1.0" encoding="UTF-8"?>',
      '<svg xmlns="http://www.w3.org/2000/svg" viewBox="' + [bb.x1 - pad, bb.y1 - pad,
        bb.w + 2 * pad, bb.h + 2 * pad].map(function (v) { return v.toFixed(1); }).join(" ") +
      '" width="' + Math.ceil(bb.w + 2 * pad) + '" height="' + Math.ceil(bb.h + 2 * pad) +
      '" font-family="system-ui, sans-serif">',
      "<title>" + xml(title.textContent) + " \u2014 allsource graph</title>",
      '<rect x="' + (bb.x1 - pad) + '" y="' + (bb.y1 - pad) + '" width="' + (bb.w + 2 * pad) +
      '" height="' + (bb.h + 2 * pad) + '" fill="#ffffff"/>', '<g class="edges">'];
    shown.edges().forEach(function (e) {
      var a = e.source().position(), b = e.target().position();
      out.push('<line x1="' + a.x.toFixed(1) + '" y1="' + a.y.toFixed(1) + '" x2="' +
               b.x.toFixed(1) + '" y2="' + b.y.toFixed(1) + '" stroke="#8b97a3" stroke-width="' +
               e.data("width") + '"/>');
      // as on the canvas: the type written 34 px from the far end
      var far = e.data("far") === "source" ? a : b, near = far === a ? b : a;
      var len = Math.max(1, Math.hypot(near.x - far.x, near.y - far.y));
      var k = Math.min(0.5, 34 / len);
      out.push('<text x="' + (far.x + (near.x - far.x) * k).toFixed(1) + '" y="' +
               (far.y + (near.y - far.y) * k - 2).toFixed(1) +
               '" font-size="9" fill="#3d4650" text-anchor="middle">' + xml(e.data("label")) +
               "</text>");
    });
    out.push('</g><g class="nodes">');
    shown.nodes().forEach(function (n) {
      var p = n.position();
      out.push('<g data-type="' + xml(n.data("type")) + '">' + svgShape(n) +
               '<text x="' + p.x.toFixed(1) + '" y="' + (p.y + n.data("size") / 2 + 13).toFixed(1) +
               '" font-size="11" fill="#1b1f24" text-anchor="middle">' +
               xml(n.hasClass("center") ? n.data("short") : short(n.data("label"), 18)) +
               "</text></g>");
    });
    out.push("</g></svg>");
    return out.join("\n");
  }

  on("graph-export-svg", function () {
    download(new Blob([toSvg()], {type: "image/svg+xml"}), fileName("svg"));
    say("SVG exported.");
  });

  on("graph-export-stix", function () {
    var chosen = cy.nodes(":selected[kind = 'object']");
    if (chosen.empty()) { chosen = cy.nodes("[kind = 'object']").not(".filtered"); }
    var body = new URLSearchParams();
    body.set("csrf", box.getAttribute("data-csrf") || "");
    chosen.forEach(function (n) { body.append("ids", n.id()); });
    fetch("/graph/export/stix", {method: "POST", credentials: "same-origin", body: body,
                                 headers: {"Accept": "application/stix+json"}})
      .then(function (r) {
        if (!r.ok) { throw new Error("export refused (" + r.status + ")"); }
        var left = parseInt(r.headers.get("X-Allsource-Left-Out") || "0", 10);
        return r.blob().then(function (blob) { return {blob: blob, left: left}; });
      })
      .then(function (res) {
        download(res.blob, fileName("stix.json"));
        say("STIX bundle of " + chosen.length + " selected object(s) exported" +
            (res.left ? "; " + res.left + " left out (a place without a country, region " +
             "or coordinates cannot be valid STIX)." : "."));
      })
      .catch(function (err) { say("Could not export: " + err.message); });
  });

  /* --- history ----------------------------------------------------------------------- */
  window.addEventListener("popstate", function (ev) {
    var st = ev.state;
    if (!st) {
      var q = new URLSearchParams(location.search);
      var center = decodeURIComponent(location.pathname.replace(/^\/graph\//, ""));
      st = {center: center, steps: q.getAll("open")};
    }
    show(st.center, st.steps);
  });

  var initial = new URLSearchParams(location.search).getAll("open")
    .filter(function (s) { return /^(n:|c:)/.test(s); }).slice(0, 50);
  var start = box.getAttribute("data-center");
  history.replaceState({center: start, steps: initial}, "", pageUrl(start, initial));
  show(start, initial);
})();
