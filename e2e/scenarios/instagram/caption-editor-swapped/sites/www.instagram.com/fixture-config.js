// Settings for the shared Instagram fixture (see e2e/fixtures/www.instagram.com/ig-app.js).
window.CLAW_IG_FIXTURE = {
  "newCode": "DSwapEd1tor",
  "captionSwapMs": 1200
};
