// Settings for the shared Instagram fixture (see e2e/fixtures/www.instagram.com/ig-app.js).
window.CLAW_IG_FIXTURE = {
  "newCode": "DLateT1le42",
  "newTileDelayMs": 2000,
  "gridHref": "user",
  "older": [
    {
      "code": "C1pinnedOne",
      "text": "Welcome! Start here 👋",
      "pinned": true,
      "date": "2024-01-15",
      "alt": "Photo by Claw Test on January 15, 2024. May be an image of text that says 'WELCOME'."
    },
    {
      "code": "C2pinnedTwo",
      "text": "Our story so far",
      "pinned": true,
      "date": "2024-06-03",
      "alt": "Photo by Claw Test on June 3, 2024. May be an image of 2 people and outdoors."
    },
    {
      "code": "C3pinnedThr",
      "text": "Launch day recap",
      "pinned": true,
      "date": "2025-02-20",
      "alt": "Photo by Claw Test on February 20, 2025. May be an image of 1 person, smiling and text."
    },
    {
      "code": "C8launch001",
      "text": "Launch day! Thanks everyone for the support",
      "date": "2026-11-28",
      "alt": "Photo by Claw Test on November 28, 2026. May be an image of text that says 'LAUNCH'."
    },
    {
      "code": "C9olderPost",
      "text": "An older post from last week.",
      "date": "2026-11-21"
    }
  ]
};
