// Settings for the shared Instagram fixture (see e2e/fixtures/www.instagram.com/ig-app.js).
window.CLAW_IG_FIXTURE = {
  "profileLag": 99,
  "foreignPost": {
    "code": "DFromPh0ne1",
    "text": "Posted from my phone at the same time"
  }
};
