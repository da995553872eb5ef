"""Work orders (工单): repairs, complaints, suggestions and governance events, with deadlines,
dispatch, follow-up visits and ratings."""
