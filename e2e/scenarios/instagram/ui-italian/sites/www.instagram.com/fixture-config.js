// Settings for the shared Instagram fixture (see e2e/fixtures/www.instagram.com/ig-app.js).
window.CLAW_IG_FIXTURE = {
  "lang": "it",
  "newCode": "DItalia2026",
  "notificationsPrompt": true,
  "older": [
    {
      "code": "C7pinnedAbc",
      "text": "Pinned: welcome to my page!",
      "pinned": true,
      "date": "2024-03-02"
    },
    {
      "code": "C8milano001",
      "text": "Ciao da Milano!",
      "date": "2026-10-10"
    },
    {
      "code": "C9olderPost",
      "text": "Un post più vecchio.",
      "date": "2026-11-21"
    }
  ]
};
