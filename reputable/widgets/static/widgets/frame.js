// A widget in an iframe tells the page that frames it how tall it is: a height only, and only to
// that page's origin (given as ?origin=, else taken from the referrer), never to "*".
const origin = document.body.dataset.parentOrigin || (document.referrer ? new URL(document.referrer).origin : "");
if (origin && window.parent !== window) {
  // The content's own height: scrollHeight is never less than the frame, so a frame made too tall would stay so.
  const height = () => Math.ceil(document.documentElement.getBoundingClientRect().height);
  const send = () => window.parent.postMessage({ reputableHeight: height() }, origin);
  new ResizeObserver(send).observe(document.documentElement);
}
