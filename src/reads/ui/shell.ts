/**
 * The one HTML document every UI page starts from: no data in it (the front end fetches the public
 * JSON API like any other consumer), no inline script or style (the CSP forbids both), and every
 * asset under the build's versioned path.
 */
export function shellHtml(assetBase: string, modules: readonly string[]): string {
  // Every module is announced up front: the browser fetches them at once instead of discovering
  // imports two or three levels deep, one round trip per level.
  const preloads = modules.map((m) => `<link rel="modulepreload" href="${assetBase}/${m}">`).join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>session-lattice</title>
<link rel="icon" href="${assetBase}/icon.svg" type="image/svg+xml">
<link rel="stylesheet" href="${assetBase}/style.css">
${preloads}
<script src="${assetBase}/chart.umd.min.js" defer></script>
<script src="${assetBase}/chartjs-chart-matrix.min.js" defer></script>
<script type="module" src="${assetBase}/main.js"></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
  <a class="brand" href="/">session-lattice</a>
  <nav aria-label="Pages">
    <a href="/">Overview</a>
    <a href="/ui/views">Views</a>
    <a href="/ui/status">Status</a>
  </nav>
</header>
<section id="freshness" class="freshness" aria-label="Data freshness"></section>
<div id="live" class="live" role="status" aria-live="polite"></div>
<main id="main" tabindex="-1">
  <noscript><p>This page needs JavaScript. The same data is served as JSON at <a href="/views">/views</a>.</p></noscript>
</main>
</body>
</html>
`;
}
