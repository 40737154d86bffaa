/* Loaded between require.js and embed-amd.js (see nb_ipywidgets_js in _config.yml).
 *
 * 1. Fonts. embed-amd.js defines its modules under names such as
 *    "@jupyter-widgets/html-manager/dist/libembed-amd" and asks require.js for its webfonts
 *    under "@jupyter-widgets/<hash>.woff2". By default those names resolve relative to the
 *    *page* (e.g. book/@jupyter-widgets/), where nothing exists, and every font request
 *    ends in a 404. Map both to this script's own folder, where the fonts are copied.
 * 2. MathJax. The widgets typeset their labels with the MathJax 2 API
 *    (MathJax.Hub.Queue) whenever window.MathJax exists; the book loads MathJax 3, which
 *    has no Hub. Give whatever window.MathJax is (first the configuration object, then
 *    MathJax 3 itself once it has loaded) a Hub.Queue that calls MathJax 3's typesetter.
 */
(function () {
  var here = new URL(".", document.currentScript.src).href.replace(/\/$/, "");
  window.require.config({
    paths: { "@jupyter-widgets/html-manager/dist": here, "@jupyter-widgets": here },
  });

  var hub = {
    Queue: function (job) {
      var mj = window.MathJax, node = job && job[2];
      if (mj && mj.typesetPromise && node) {
        mj.typesetPromise([node]).catch(function () {});
      }
    },
  };
  var tries = 0;
  (function shim() {
    var mj = window.MathJax;
    if (mj && !mj.Hub) mj.Hub = hub;
    if (!(mj && mj.version && mj.Hub) && ++tries < 600) setTimeout(shim, 50);
  })();
})();
