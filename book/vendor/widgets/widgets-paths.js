/* Loaded between require.js and embed-amd.js (see nb_ipywidgets_js in _config.yml).
 *
 * embed-amd.js defines its modules under names such as
 * "@jupyter-widgets/html-manager/dist/libembed-amd" and locates its webfonts relative to
 * the module's require.js URL. By default that URL is relative to the *page*
 * (e.g. book/@jupyter-widgets/html-manager/dist/), where nothing exists, and every font
 * request ends in a 404. Map the module folder to this script's own folder (_static/),
 * where the fonts are copied.
 */
(function () {
  var here = new URL(".", document.currentScript.src).href.replace(/\/$/, "");
  window.require.config({ paths: { "@jupyter-widgets/html-manager/dist": here } });
})();
