// Settings for the shared Instagram fixture (see e2e/fixtures/www.instagram.com/ig-app.js).
window.CLAW_IG_FIXTURE = {
  "api": true,
  "profileLag": 99,
  "older": [
    {
      "code": "C7pinnedAbc",
      "text": "Pinned: welcome to my page!",
      "pinned": true,
      "date": "2024-03-02"
    },
    {
      "code": "C8nothing01",
      "text": "Nothing identifies",
      "date": "2026-12-01"
    },
    {
      "code": "C9olderPost",
      "text": "An older post from last week.",
      "date": "2026-11-21"
    }
  ]
};
