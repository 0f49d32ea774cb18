// Settings for the shared Instagram fixture (see e2e/fixtures/www.instagram.com/ig-app.js).
window.CLAW_IG_FIXTURE = {
  "api": true,
  "uploadId": "1765139401234",
  "profileLag": 99,
  "older": [
    {
      "code": "C7pinnedAbc",
      "text": "Pinned: welcome to my page!",
      "pinned": true,
      "date": "2024-03-02"
    },
    {
      "code": "C8harbour01",
      "text": "Sunset over the harbour",
      "date": "2026-11-02"
    },
    {
      "code": "C9olderPost",
      "text": "An older post from last week.",
      "date": "2026-11-21"
    }
  ]
};
