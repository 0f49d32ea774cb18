// Settings for the shared Instagram fixture (see e2e/fixtures/www.instagram.com/ig-app.js).
window.CLAW_IG_FIXTURE = {
  "newCode": "DRunR3nder5",
  "collapseBlankLines": true,
  "older": [
    {
      "code": "C7pinnedAbc",
      "text": "Pinned: welcome to my page!",
      "pinned": true,
      "date": "2024-03-02"
    },
    {
      "code": "C8morning01",
      "text": "Morning run done 🏃",
      "date": "2026-12-01"
    },
    {
      "code": "C9olderPost",
      "text": "An older post from last week.",
      "date": "2026-11-21"
    }
  ]
};
