// Signage pages are laid out on a fixed stage (e.g. 1920×1080) and scaled to whatever
// screen they run on, so a 1366×768 TV shows the same layout as a full-HD one.

export function fitStage(stage, width, height) {
  const fit = () => {
    const scale = Math.min(window.innerWidth / width, window.innerHeight / height);
    stage.style.transform = `scale(${scale})`;
    stage.style.left = `${Math.max(0, (window.innerWidth - width * scale) / 2)}px`;
    stage.style.top = `${Math.max(0, (window.innerHeight - height * scale) / 2)}px`;
  };
  window.addEventListener("resize", fit);
  fit();
}
